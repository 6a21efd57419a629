//! What the hypervisor needs of the machine's memory: the figures the
//! hypervisor allocates by, and the sum tools size a machine with.
//!
//! Pure constants and arithmetic, built on the host too, so `cargo xtask`
//! gives QEMU enough memory for the domains it boots (and no figure is
//! written twice).

/// Shadow table frames reserved per domain (1 MiB): enough for the working
/// set of a small kernel; beyond it the shadows are recycled.
pub const SHADOW_POOL_FRAMES: usize = 256;

/// Bytes of the hypervisor heap: room for the p2m tables (8 bytes per guest
/// page) of 1,024 domains of 4 MiB, or of one domain of 4 GiB, besides the
/// rest of the bookkeeping (each domain record, about 3 KiB of it its grant
/// table and grant window).
pub const HEAP_SIZE: usize = 32 << 20;

/// Highest machine address the frame allocator manages.
pub const MAX_MACHINE_MEMORY: u64 = 16 << 30;

/// Memory below 1 MiB, the hypervisor image (with its heap and frame
/// bitmap) and its own page tables, with margin.
const FIXED_OVERHEAD: u64 = 64 << 20;

/// Per-domain bookkeeping outside the domain's memory and shadow pool
/// (boot-time tables, console and queue state), with margin.
const PER_DOMAIN_OVERHEAD: u64 = 64 << 10;

/// Machine memory that boots domains of `domain_bytes` each from a bundle
/// of `bundle_bytes`: their memory, their shadow pools, the hypervisor's
/// own needs and the bundle, rounded up to a MiB. `None` on overflow.
pub fn machine_memory(domain_bytes: impl Iterator<Item = u64>, bundle_bytes: u64) -> Option<u64> {
    let shadow = SHADOW_POOL_FRAMES as u64 * 4096;
    let mut total = FIXED_OVERHEAD
        .checked_add(HEAP_SIZE as u64)?
        .checked_add(bundle_bytes)?;
    for bytes in domain_bytes {
        total = total.checked_add(bytes.checked_add(shadow + PER_DOMAIN_OVERHEAD)?)?;
    }
    total.checked_next_multiple_of(1 << 20)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_memory_shadow_and_overhead() {
        let one = machine_memory([16 << 20].into_iter(), 0).unwrap();
        let two = machine_memory([16 << 20, 16 << 20].into_iter(), 0).unwrap();
        assert!(two - one >= (16 << 20) + (1 << 20));
        assert_eq!(one % (1 << 20), 0);
        let big = machine_memory([4 << 30].into_iter(), 1 << 20).unwrap();
        assert!(big > (4 << 30) + (1 << 20) + HEAP_SIZE as u64);
        assert_eq!(machine_memory([u64::MAX].into_iter(), 0), None);
    }
}
