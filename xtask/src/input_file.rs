//! Reading a file the user named (a guest image, a configuration file):
//! only a regular file, and only up to a size, so that a FIFO, a device
//! such as `/dev/zero` or a huge file is one clear error instead of a hang
//! or a run out of memory.

use std::io::Read;
use std::path::Path;

/// Largest guest image read (a domain has at most 4 GiB, and images are
/// far smaller).
pub const MAX_IMAGE_BYTES: u64 = 256 << 20;
/// Largest configuration file read.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The bytes of `path`, a regular file of at most `max` bytes. Errors are
/// one phrase, for the caller to put after what the file is.
pub fn read_regular(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    let metadata = std::fs::metadata(path).map_err(|error| format!("cannot read it: {error}"))?;
    if metadata.is_dir() {
        return Err("is a directory".to_string());
    }
    if !metadata.is_file() {
        return Err("is not a regular file".to_string());
    }
    if metadata.len() > max {
        return Err(format!(
            "is {} bytes, more than the {max} this reads",
            metadata.len()
        ));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(max + 1).read_to_end(&mut bytes))
        .map_err(|error| format!("cannot read it: {error}"))?;
    match bytes.len() as u64 > max {
        true => Err(format!("grew past the {max} bytes this reads")),
        false => Ok(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_up_to_the_limit_are_read() {
        let dir = std::env::temp_dir().join(format!("xtask-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("f");
        std::fs::write(&file, [1u8; 10]).unwrap();
        assert_eq!(read_regular(&file, 10).unwrap().len(), 10);
        assert!(read_regular(&file, 9).unwrap_err().contains("10 bytes"));
        assert_eq!(read_regular(&dir, 10).unwrap_err(), "is a directory");
        let zero = read_regular(Path::new("/dev/zero"), 10).unwrap_err();
        assert_eq!(zero, "is not a regular file");
        assert!(
            read_regular(&dir.join("missing"), 10)
                .unwrap_err()
                .starts_with("cannot read it")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
