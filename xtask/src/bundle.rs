//! Writing guest bundles, the boot module QEMU hands the hypervisor (`-initrd`).
//!
//! A bundle is built from a list of [`GuestSpec`]s with [`encode`] (or
//! [`write`] straight to a file); the layout itself is defined once, in
//! `shared_abi::bundle`. Domains that share one image (the same `Arc`, as
//! `count=N` makes) share its bytes in the bundle too.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use shared_abi::bundle::{ENTRY_LEN, EntryExtras, HEADER_LEN, encode_entry, encode_header};

/// Images start at offsets that are multiples of this.
const IMAGE_ALIGN: usize = 8;

/// One domain to start: its name, argument string and ELF image, and what
/// the bundle entry asks for beyond them.
#[derive(Clone, Debug, Default)]
pub struct GuestSpec {
    pub name: String,
    pub args: String,
    pub image: Arc<[u8]>,
    /// Memory in bytes (0: the hypervisor's `dom_mem`) and disk region
    /// (0 sectors: the hypervisor's default region).
    pub extras: EntryExtras,
}

/// Encodes `guests` as a bundle: header, entry table, then the images, each
/// starting at an 8-byte-aligned offset.
pub fn encode(guests: &[GuestSpec]) -> Result<Vec<u8>, String> {
    let count =
        u32::try_from(guests.len()).map_err(|_| "too many guests for one bundle".to_string())?;
    let table_end = HEADER_LEN + guests.len() * ENTRY_LEN;
    let mut offsets = Vec::with_capacity(guests.len());
    let mut placed: HashMap<*const u8, usize> = HashMap::new();
    let mut images = Vec::new();
    let mut end = table_end;
    for guest in guests {
        let offset = *placed.entry(guest.image.as_ptr()).or_insert_with(|| {
            let offset = end.next_multiple_of(IMAGE_ALIGN);
            images.push((offset, &guest.image));
            end = offset + guest.image.len();
            offset
        });
        offsets.push(offset);
    }

    let mut bytes = Vec::with_capacity(end);
    bytes.extend_from_slice(&encode_header(count));
    for (guest, offset) in guests.iter().zip(&offsets) {
        let entry = encode_entry(
            &guest.name,
            &guest.args,
            *offset as u64,
            guest.image.len() as u64,
            guest.extras,
        )
        .ok_or_else(|| {
            format!(
                "guest `{}`: name or argument string is too long for a bundle entry",
                guest.name
            )
        })?;
        bytes.extend_from_slice(&entry);
    }
    for (offset, image) in images {
        bytes.resize(offset, 0);
        bytes.extend_from_slice(image);
    }
    Ok(bytes)
}

/// Encodes `guests` and writes the bundle to `path`, creating its directory.
pub fn write(path: &Path, guests: &[GuestSpec]) -> Result<(), String> {
    write_bytes(path, &encode(guests)?)
}

/// Writes an encoded bundle to `path`, creating its directory.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|error| format!("cannot create {}: {error}", dir.display()))?;
    }
    std::fs::write(path, bytes).map_err(|error| format!("cannot write {}: {error}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared_abi::bundle::Bundle;

    fn spec(name: &str, args: &str, image: &[u8]) -> GuestSpec {
        GuestSpec {
            name: name.into(),
            args: args.into(),
            image: image.into(),
            extras: EntryExtras::default(),
        }
    }

    #[test]
    fn parses_back_with_aligned_images() {
        let guests = [
            spec("alpha", "lines=5", b"ELF"),
            spec("beta", "", b"IMAGE-B"),
            spec("c", "x", b""),
        ];
        let bytes = encode(&guests).unwrap();
        let bundle = Bundle::parse(&bytes).unwrap();
        assert_eq!(bundle.len(), 3);
        for (entry, guest) in bundle.entries().zip(&guests) {
            assert_eq!(entry.name, guest.name);
            assert_eq!(entry.args, guest.args);
            let image = entry.image.unwrap();
            assert_eq!(image, &*guest.image);
            let offset = image.as_ptr() as usize - bytes.as_ptr() as usize;
            assert_eq!(
                offset % IMAGE_ALIGN,
                0,
                "image of {} is misaligned",
                guest.name
            );
        }
    }

    #[test]
    fn shared_images_are_stored_once_and_extras_kept() {
        let image: Arc<[u8]> = Arc::from(&b"ONE-IMAGE"[..]);
        let mut guests: Vec<GuestSpec> = (0..3)
            .map(|i| GuestSpec {
                name: format!("d-{i}"),
                image: image.clone(),
                ..GuestSpec::default()
            })
            .collect();
        guests[1].extras.memory = 4 << 20;
        let bytes = encode(&guests).unwrap();
        assert_eq!(bytes.len(), HEADER_LEN + 3 * ENTRY_LEN + image.len());
        let bundle = Bundle::parse(&bytes).unwrap();
        let entries: Vec<_> = bundle.entries().collect();
        assert!(entries.iter().all(|entry| entry.image == Ok(&*image)));
        assert_eq!(entries[1].memory, Some(4 << 20));
        assert_eq!(entries[0].memory, None);
    }

    #[test]
    fn empty_bundle_is_just_a_header() {
        let bytes = encode(&[]).unwrap();
        assert_eq!(bytes.len(), HEADER_LEN);
        assert!(Bundle::parse(&bytes).unwrap().is_empty());
    }

    #[test]
    fn refuses_overlong_fields() {
        let error = encode(&[spec(&"n".repeat(40), "", b"x")]).unwrap_err();
        assert!(error.contains("too long"), "{error}");
        assert!(encode(&[spec("ok", &"a".repeat(200), b"x")]).is_err());
    }
}
