//! The block device's request vocabulary, as the guest runtime's block
//! frontend (`guest::block`) takes it: request types and completion
//! statuses numbered as virtio-blk numbers them (virtio specification
//! 1.2, section 5.2.6), and the sector size. On the wire to the driver
//! domain's backend they become the block ring's operations and statuses
//! ([`blkif`](crate::blkif)).

/// Bytes per sector.
pub const SECTOR_SIZE: u64 = 512;

/// virtio-blk request types.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockRequestType {
    /// Read sectors into the data buffers.
    In = 0,
    /// Write the data buffers to sectors.
    Out = 1,
    /// Make every completed write durable.
    Flush = 4,
    /// Return the device identifier.
    GetId = 8,
}

impl BlockRequestType {
    /// Decodes a request type.
    #[inline]
    pub fn from_raw(raw: u32) -> Option<Self> {
        [Self::In, Self::Out, Self::Flush, Self::GetId]
            .into_iter()
            .find(|t| *t as u32 == raw)
    }
}

/// virtio-blk completion status (the last, device-written byte).
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockStatus {
    /// Done.
    Ok = 0,
    /// The request failed (for example, sectors outside the disk).
    IoError = 1,
    /// The request type is not supported.
    Unsupported = 2,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_types_decode() {
        assert_eq!(BlockRequestType::from_raw(4), Some(BlockRequestType::Flush));
        assert_eq!(BlockRequestType::from_raw(2), None);
    }
}
