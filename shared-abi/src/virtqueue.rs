//! Virtio 1.x split virtqueues and virtio-blk requests: the layout the
//! block driver's frontend and backend share (virtio specification 1.2,
//! sections 2.7 and 5.2).
//!
//! A split virtqueue of `size` entries (a power of two) is three areas in
//! guest memory: the descriptor table (16 bytes per entry), the available
//! ring (driver to device) and the used ring (device to driver). Indices in
//! the rings run freely modulo 2^16.

/// The descriptor continues in `next`.
pub const DESC_F_NEXT: u16 = 1;
/// The device writes this buffer (else it reads it).
pub const DESC_F_WRITE: u16 = 2;
/// The buffer holds a table of descriptors.
pub const DESC_F_INDIRECT: u16 = 4;
/// Largest queue size the specification allows.
pub const MAX_QUEUE_SIZE: u16 = 32768;

/// One descriptor.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Descriptor {
    /// Guest-physical address of the buffer.
    pub addr: u64,
    /// Length of the buffer in bytes.
    pub len: u32,
    /// `DESC_F_*` bits.
    pub flags: u16,
    /// Next descriptor of the chain when `flags` has `DESC_F_NEXT`.
    pub next: u16,
}

/// One entry of the used ring.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UsedElement {
    /// Head of the completed chain.
    pub id: u32,
    /// Bytes the device wrote into the chain.
    pub len: u32,
}

const _: () = {
    assert!(core::mem::size_of::<Descriptor>() == 16);
    assert!(core::mem::offset_of!(Descriptor, addr) == 0);
    assert!(core::mem::offset_of!(Descriptor, len) == 8);
    assert!(core::mem::offset_of!(Descriptor, flags) == 12);
    assert!(core::mem::offset_of!(Descriptor, next) == 14);
    assert!(core::mem::size_of::<UsedElement>() == 8);
};

/// Byte offsets of a split virtqueue's fields, for a queue of `size`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Entries.
    pub size: u16,
}

impl Layout {
    /// Bytes of the descriptor table.
    pub const fn descriptor_table_bytes(self) -> u64 {
        16 * self.size as u64
    }
    /// Bytes of the available ring: flags, idx, ring, used_event.
    pub const fn available_bytes(self) -> u64 {
        6 + 2 * self.size as u64
    }
    /// Bytes of the used ring: flags, idx, ring, avail_event.
    pub const fn used_bytes(self) -> u64 {
        6 + 8 * self.size as u64
    }
    /// Offset of `idx` in the available ring.
    pub const AVAILABLE_IDX: u64 = 2;
    /// Offset of ring entry `slot` in the available ring.
    pub const fn available_slot(self, slot: u16) -> u64 {
        4 + 2 * (slot % self.size) as u64
    }
    /// Offset of `used_event` in the available ring.
    pub const fn used_event(self) -> u64 {
        4 + 2 * self.size as u64
    }
    /// Offset of `idx` in the used ring.
    pub const USED_IDX: u64 = 2;
    /// Offset of ring entry `slot` in the used ring.
    pub const fn used_slot(self, slot: u16) -> u64 {
        4 + 8 * (slot % self.size) as u64
    }
    /// Offset of `avail_event` in the used ring.
    pub const fn avail_event(self) -> u64 {
        4 + 8 * self.size as u64
    }
    /// Whether `size` is a valid queue size.
    pub const fn is_valid(self) -> bool {
        self.size != 0 && self.size.is_power_of_two() && self.size <= MAX_QUEUE_SIZE
    }
}

/// Event-index notification suppression (specification 2.7.10): whether
/// moving an index from `old` to `new` passes `event`, the index the other
/// side asked to be notified at.
pub const fn need_event(event: u16, new: u16, old: u16) -> bool {
    new.wrapping_sub(event).wrapping_sub(1) < new.wrapping_sub(old)
}

/// Bytes per sector.
pub const SECTOR_SIZE: u64 = 512;
/// Bytes of the identifier a `GET_ID` request returns.
pub const BLOCK_ID_BYTES: usize = 20;

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

/// The header every virtio-blk request starts with (device-readable).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockRequestHeader {
    /// A [`BlockRequestType`].
    pub request_type: u32,
    /// Zero.
    pub reserved: u32,
    /// First sector, for reads and writes.
    pub sector: u64,
}

const _: () = {
    assert!(core::mem::size_of::<BlockRequestHeader>() == 16);
    assert!(core::mem::offset_of!(BlockRequestHeader, request_type) == 0);
    assert!(core::mem::offset_of!(BlockRequestHeader, sector) == 8);
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_offsets_follow_the_specification() {
        let layout = Layout { size: 8 };
        assert!(layout.is_valid());
        assert_eq!(layout.descriptor_table_bytes(), 128);
        assert_eq!(layout.available_bytes(), 22);
        assert_eq!(layout.available_slot(9), 6);
        assert_eq!(layout.used_event(), 20);
        assert_eq!(layout.used_bytes(), 70);
        assert_eq!(layout.used_slot(1), 12);
        assert_eq!(layout.avail_event(), 68);
        assert!(!Layout { size: 6 }.is_valid());
        assert!(!Layout { size: 0 }.is_valid());
    }

    #[test]
    fn event_index_suppression() {
        // Notify when the index moves past the requested event.
        assert!(need_event(5, 6, 5));
        assert!(!need_event(7, 6, 5));
        assert!(need_event(5, 10, 2));
        // Across the 16-bit wrap.
        assert!(need_event(u16::MAX, 1, u16::MAX - 1));
        assert!(!need_event(3, 1, u16::MAX - 1));
    }

    #[test]
    fn request_types_decode() {
        assert_eq!(BlockRequestType::from_raw(4), Some(BlockRequestType::Flush));
        assert_eq!(BlockRequestType::from_raw(2), None);
    }
}
