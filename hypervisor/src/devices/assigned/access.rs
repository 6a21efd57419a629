//! Which configuration-space accesses the driver domain may make on its
//! function, and what a permitted command-register write becomes.
//!
//! Reads: any dword-aligned offset below 256 (the standard header and the
//! capabilities, virtio's among them). Writes: the command register only
//! (offset 4), and of it only the I/O-space, memory-space and bus-master
//! bits; the other command bits keep their value and the status half is
//! written with zeros (its error bits are write-one-to-clear). The BARs
//! stay where the firmware put them: the hypervisor mapped them.

use shared_abi::Status;

/// Bytes of the configuration space the driver domain reaches.
pub const CONFIG_SPACE: u64 = 256;
/// Offset of the status/command dword.
pub const COMMAND: u8 = 4;
/// Offset of the dword whose low byte is the interrupt line.
pub const INTERRUPT_LINE: u8 = 0x3c;
/// The command bits the driver domain may change: I/O space, memory
/// space, bus master.
pub const COMMAND_WRITABLE: u32 = 0b111;

/// The offset of a read or write, if it is a dword-aligned offset inside
/// the configuration space.
pub fn offset(offset: u64) -> Result<u8, Status> {
    if offset >= CONFIG_SPACE || !offset.is_multiple_of(4) {
        return Err(Status::InvalidArgument);
    }
    Ok(offset as u8)
}

/// The dword to write at `offset` when the driver domain writes `value`
/// there and the register holds `current`: only the command register's
/// writable bits change.
pub fn write(offset: u8, value: u64, current: u32) -> Result<u32, Status> {
    if offset != COMMAND {
        return Err(Status::Denied);
    }
    let value = u32::try_from(value).map_err(|_| Status::InvalidArgument)?;
    Ok(current & 0xffff & !COMMAND_WRITABLE | value & COMMAND_WRITABLE)
}

/// The legacy interrupt line an interrupt-line register names, if it is
/// one the I/O APIC routes 1:1 (0 and 0xff: none; above 15: not an ISA
/// line).
pub fn interrupt_line(register: u32) -> Option<u8> {
    let line = register as u8;
    (1..16).contains(&line).then_some(line)
}

/// Whether a BAR at machine `address`, mapped at the same guest-physical
/// address, would overlap guest-physical memory of `memory` bytes from 0.
pub fn overlaps_memory(address: u64, memory: u64) -> bool {
    address < memory
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_aligned_and_inside_the_space() {
        assert_eq!(offset(0), Ok(0));
        assert_eq!(offset(0x3c), Ok(0x3c));
        assert_eq!(offset(252), Ok(252));
        for bad in [1, 2, 3, 6, 255, 256, 4096, u64::MAX, 1 << 32] {
            assert_eq!(offset(bad), Err(Status::InvalidArgument), "{bad}");
        }
    }

    #[test]
    fn only_the_command_bits_may_be_written() {
        // Memory space and bus master on, INTx disable (bit 10) kept,
        // status half not written back.
        assert_eq!(write(COMMAND, 0b110, 0x0010_0400), Ok(0x0406));
        assert_eq!(write(COMMAND, 0, 0x0010_0407), Ok(0x0400));
        assert_eq!(write(COMMAND, 0xffff_ffff, 0), Ok(0b111));
        assert_eq!(write(COMMAND, 1 << 32, 0), Err(Status::InvalidArgument));
        for bar in (0x10..=0x24).step_by(4) {
            assert_eq!(write(bar, 0xffff_ffff, 0), Err(Status::Denied));
        }
        assert_eq!(write(0, 0, 0), Err(Status::Denied));
        assert_eq!(write(INTERRUPT_LINE, 5, 11), Err(Status::Denied));
    }

    #[test]
    fn interrupt_lines_and_bars() {
        assert_eq!(interrupt_line(0x0100_010b), Some(11));
        assert_eq!(interrupt_line(0xff), None);
        assert_eq!(interrupt_line(0), None);
        assert_eq!(interrupt_line(16), None);
        assert!(overlaps_memory(0x10_0000, 16 << 20));
        assert!(!overlaps_memory(0xfebf_0000, 16 << 20));
    }
}
