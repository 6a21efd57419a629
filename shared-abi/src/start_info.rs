//! The start information a domain reads with the `start_info` hypercall.
//!
//! The `bootloader_api::BootInfo` a guest receives at its entry point describes
//! guest-physical memory, as any bootloader would. What is specific to running
//! on this hypervisor (who am I, what was I started with) is here.

/// Length of [`StartInfo::name`].
pub const NAME_LEN: usize = 32;
/// Length of [`StartInfo::args`].
pub const ARGS_LEN: usize = 80;

/// OUT: filled by the hypervisor for `start_info(ptr, len)`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StartInfo {
    /// OUT: [`ABI_VERSION`](crate::ABI_VERSION).
    pub abi_version: u32,
    /// OUT: the domain's identifier (1 for the first domain).
    pub domain_id: u32,
    /// OUT: bytes of guest-physical memory the domain owns, from address 0.
    pub memory_bytes: u64,
    /// OUT: the domain's name, NUL-padded UTF-8.
    pub name: [u8; NAME_LEN],
    /// OUT: the argument string given to the domain in the bundle, NUL-padded.
    pub args: [u8; ARGS_LEN],
    /// OUT: how many times the hypervisor has restarted this domain (ABI
    /// 1.9; 0 for its first run). Not written for a buffer of
    /// [`StartInfo::MIN_LEN`] bytes.
    pub restarts: u32,
    /// Reserved, 0.
    pub reserved: u32,
}

const _: () = {
    assert!(core::mem::size_of::<StartInfo>() == 136);
    assert!(core::mem::offset_of!(StartInfo, abi_version) == 0);
    assert!(core::mem::offset_of!(StartInfo, domain_id) == 4);
    assert!(core::mem::offset_of!(StartInfo, memory_bytes) == 8);
    assert!(core::mem::offset_of!(StartInfo, name) == 16);
    assert!(core::mem::offset_of!(StartInfo, args) == 48);
    assert!(core::mem::offset_of!(StartInfo, restarts) == 128);
};

impl StartInfo {
    /// An all-zero value, to be filled by the hypercall.
    pub const fn zeroed() -> Self {
        Self {
            abi_version: 0,
            domain_id: 0,
            memory_bytes: 0,
            name: [0; NAME_LEN],
            args: [0; ARGS_LEN],
            restarts: 0,
            reserved: 0,
        }
    }

    /// The smallest buffer `start_info` accepts: the size of the struct
    /// before ABI 1.9 (up to `args`); a buffer that short receives only
    /// that much.
    pub const MIN_LEN: usize = 128;

    /// The domain's name.
    pub fn name(&self) -> &str {
        padded_str(&self.name)
    }

    /// The domain's argument string.
    pub fn args(&self) -> &str {
        padded_str(&self.args)
    }

    /// The struct as bytes, for copying to guest memory.
    pub fn as_bytes(&self) -> &[u8; 136] {
        // SAFETY: StartInfo is repr(C), 136 bytes (asserted above), and has no
        // padding: every field is an integer or byte array laid out back to back.
        unsafe { &*(self as *const Self as *const [u8; 136]) }
    }
}

/// The text of a NUL-padded field: up to the first NUL, and only its valid
/// UTF-8 prefix.
pub fn padded_str(bytes: &[u8]) -> &str {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let bytes = &bytes[..end];
    match core::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => core::str::from_utf8(&bytes[..error.valid_up_to()]).unwrap_or(""),
    }
}

/// Copies `text` into a NUL-padded field, truncating at a character boundary.
/// Returns `false` if it had to truncate.
pub fn fill_padded(field: &mut [u8], text: &str) -> bool {
    field.fill(0);
    let mut end = text.len().min(field.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    field[..end].copy_from_slice(&text.as_bytes()[..end]);
    end == text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_fields_round_trip_and_truncate_on_char_boundary() {
        let mut info = StartInfo::zeroed();
        assert!(fill_padded(&mut info.name, "alpha"));
        assert_eq!(info.name(), "alpha");
        let long = "é".repeat(40);
        assert!(!fill_padded(&mut info.name, &long));
        assert_eq!(info.name(), "é".repeat(16));
        info.args[..3].copy_from_slice(&[b'a', 0xff, b'b']);
        assert_eq!(info.args(), "a");
    }
}
