//! The block device backend. [`request`] turns a virtqueue descriptor chain
//! in guest memory into a checked virtio-blk request (pure, host-tested);
//! `disk` drives the physical virtio-blk device QEMU provides.

#[cfg(target_os = "none")]
pub mod backend;
#[cfg(target_os = "none")]
pub mod disk;
pub mod request;
#[cfg(target_os = "none")]
mod virtio_hal;

#[cfg(target_os = "none")]
pub use backend::DomainDisk;

#[cfg(target_os = "none")]
static SCRATCH: spin::Mutex<backend::Scratch> = spin::Mutex::new(backend::Scratch::new());

/// Serves every domain's block queue (called at scheduling points).
#[cfg(target_os = "none")]
pub fn service(table: &mut crate::domain::table::DomainTable) {
    for domain in table.live_mut().filter(|d| d.disk().queue.is_some()) {
        service_domain(domain);
    }
}

/// Serves one domain's block queue now (its notification).
#[cfg(target_os = "none")]
pub fn service_domain(domain: &mut crate::domain::Domain) {
    if let Some(why) = backend::service(domain, &mut SCRATCH.lock()) {
        log::warn!(
            "domain {} '{}': block queue disconnected: {why}",
            domain.id(),
            domain.name()
        );
    }
}
