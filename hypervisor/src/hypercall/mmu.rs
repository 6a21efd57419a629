//! The memory-management calls: switch address space, read the current
//! root, invalidate one page, flush.

use shared_abi::Status;
use shared_abi::hypercall::FlushScope;
use shared_abi::hypercall::request::{MmuFlush, MmuGetBase, MmuInvalidatePage, MmuSetBase};

use crate::arch::x86_64::cpu;
use crate::domain::Domain;
use crate::domain::paging;
use crate::mm::address::{GuestPhysAddr, GuestVirtAddr, MachineAddr, PAGE_SIZE};

/// `mmu_set_base(root)`: `root` must be a page-aligned guest-physical
/// address inside the domain's memory. The calling domain's new shadow
/// root is loaded at once.
pub(super) fn set_base(domain: &mut Domain, MmuSetBase { root }: MmuSetBase) -> Result<(), Status> {
    let size = domain.memory_bytes();
    if !root.is_multiple_of(PAGE_SIZE) || root >= size {
        return Err(Status::InvalidArgument);
    }
    let shadow = domain.shadow_mut().ok_or(Status::InvalidArgument)?;
    shadow.switch(GuestPhysAddr(root));
    // SAFETY: a shadow root maps the hypervisor identically (its upper half
    // is the hypervisor's), and the caller is the running domain.
    unsafe { cpu::switch_root(MachineAddr(shadow.machine_root())) };
    Ok(())
}

/// `mmu_get_base()`.
pub(super) fn get_base(domain: &mut Domain, _: MmuGetBase) -> Result<u64, Status> {
    domain
        .shadow()
        .map(|shadow| shadow.guest_root().as_u64())
        .ok_or(Status::InvalidArgument)
}

/// `mmu_invalidate_page(address)`. Any address is accepted (as `invlpg`
/// accepts any address); one that maps nothing changes nothing.
pub(super) fn invalidate_page(
    domain: &mut Domain,
    MmuInvalidatePage { address }: MmuInvalidatePage,
) -> Result<(), Status> {
    let shadow = domain.shadow_mut().ok_or(Status::InvalidArgument)?;
    paging::apply(shadow.invalidate_page(GuestVirtAddr(address)));
    Ok(())
}

/// `mmu_flush(scope)`.
pub(super) fn flush(domain: &mut Domain, MmuFlush { scope }: MmuFlush) -> Result<(), Status> {
    let shadow = domain.shadow_mut().ok_or(Status::InvalidArgument)?;
    let flush = match scope {
        s if s == FlushScope::Current as u64 => shadow.flush_current(),
        s if s == FlushScope::All as u64 => shadow.flush_all(),
        _ => return Err(Status::InvalidArgument),
    };
    paging::apply(flush);
    Ok(())
}
