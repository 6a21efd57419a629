//! Writing guest bundles, the boot module QEMU hands the hypervisor (`-initrd`).
//!
//! A bundle is built from a list of [`GuestSpec`]s with [`encode`] (or
//! [`write`] straight to a file); the layout itself is defined once, in
//! `shared_abi::bundle`.

use std::path::Path;

use shared_abi::bundle::{ENTRY_LEN, HEADER_LEN, encode_entry, encode_header};

/// Images start at offsets that are multiples of this.
const IMAGE_ALIGN: usize = 8;

/// One domain to start: its name, argument string and ELF image.
#[derive(Clone, Debug)]
pub struct GuestSpec {
    pub name: String,
    pub args: String,
    pub image: Vec<u8>,
}

/// Encodes `guests` as a bundle: header, entry table, then the images, each
/// starting at an 8-byte-aligned offset.
pub fn encode(guests: &[GuestSpec]) -> Result<Vec<u8>, String> {
    let count =
        u32::try_from(guests.len()).map_err(|_| "too many guests for one bundle".to_string())?;
    let table_end = HEADER_LEN + guests.len() * ENTRY_LEN;
    let mut offsets = Vec::with_capacity(guests.len());
    let mut end = table_end;
    for guest in guests {
        let offset = end.next_multiple_of(IMAGE_ALIGN);
        offsets.push(offset);
        end = offset + guest.image.len();
    }

    let mut bytes = Vec::with_capacity(end);
    bytes.extend_from_slice(&encode_header(count));
    for (guest, offset) in guests.iter().zip(&offsets) {
        let entry = encode_entry(
            &guest.name,
            &guest.args,
            *offset as u64,
            guest.image.len() as u64,
        )
        .ok_or_else(|| {
            format!(
                "guest `{}`: name or argument string is too long for a bundle entry",
                guest.name
            )
        })?;
        bytes.extend_from_slice(&entry);
    }
    for (guest, offset) in guests.iter().zip(&offsets) {
        bytes.resize(*offset, 0);
        bytes.extend_from_slice(&guest.image);
    }
    Ok(bytes)
}

/// Encodes `guests` and writes the bundle to `path`, creating its directory.
pub fn write(path: &Path, guests: &[GuestSpec]) -> Result<(), String> {
    let bytes = encode(guests)?;
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
            image: image.to_vec(),
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
            assert_eq!(image, guest.image.as_slice());
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
