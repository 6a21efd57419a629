//! The virtual privilege level of a domain's vCPU: guest-kernel or
//! guest-user mode (ABI 1.8), and what a trap from guest-user mode needs to
//! enter the guest kernel: its registered stack and system-call entry.
//!
//! Both modes run in ring 3; what differs is the address space the
//! hardware walks. In guest-user mode the shadow holds only the pages the
//! guest maps with the user bit at every level (the shadow's user view),
//! so guest-user code cannot reach the guest kernel's memory. The mode
//! changes only here: [`Privilege::enter_kernel`] on a trap from guest-user
//! mode, [`Privilege::enter_user`] on an `iret` to a guest-user frame
//! (`trap_delivery` makes both, and loads the view that goes with the mode).

use shared_abi::Status;

use crate::mm::address::is_guest_address;

/// Which half of the guest runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// The guest kernel (every domain starts here).
    #[default]
    Kernel,
    /// A guest user program.
    User,
}

/// The vCPU's mode and the guest kernel's registered entry state.
#[derive(Clone, Copy, Debug, Default)]
pub struct Privilege {
    mode: Mode,
    kernel_stack: u64,
    syscall_entry: u64,
}

impl Privilege {
    /// Whether guest-user code runs.
    #[inline(always)]
    pub fn is_user(&self) -> bool {
        self.mode == Mode::User
    }

    /// The registered guest-kernel stack top (0: none).
    pub fn kernel_stack(&self) -> u64 {
        self.kernel_stack
    }

    /// The registered system-call entry (0: none).
    pub fn syscall_entry(&self) -> u64 {
        self.syscall_entry
    }

    /// Registers the guest-kernel stack (0 removes it): a lower-half,
    /// 16-byte aligned address.
    pub fn set_kernel_stack(&mut self, top: u64) -> Result<(), Status> {
        if top != 0 && !is_guest_address(top) {
            return Err(Status::BadAddress);
        }
        if !top.is_multiple_of(16) {
            return Err(Status::InvalidArgument);
        }
        self.kernel_stack = top;
        Ok(())
    }

    /// Registers the system-call entry (0 removes it): a lower-half address.
    pub fn set_syscall_entry(&mut self, handler: u64) -> Result<(), Status> {
        if handler != 0 && !is_guest_address(handler) {
            return Err(Status::BadAddress);
        }
        self.syscall_entry = handler;
        Ok(())
    }

    /// A trap from guest-user mode entered the guest kernel (on
    /// [`Self::kernel_stack`]).
    #[inline(always)]
    pub fn enter_kernel(&mut self) {
        self.mode = Mode::Kernel;
    }

    /// An `iret` to a guest-user frame: refused (`InvalidArgument`) while
    /// no kernel stack is registered, since the next trap could not enter
    /// the guest kernel.
    #[inline(always)]
    pub fn enter_user(&mut self) -> Result<(), Status> {
        if self.kernel_stack == 0 {
            return Err(Status::InvalidArgument);
        }
        self.mode = Mode::User;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_mode_needs_a_kernel_stack() {
        let mut privilege = Privilege::default();
        assert_eq!(privilege.enter_user(), Err(Status::InvalidArgument));
        assert!(!privilege.is_user());
        assert_eq!(privilege.set_kernel_stack(0x8000), Ok(()));
        assert_eq!(privilege.enter_user(), Ok(()));
        assert!(privilege.is_user());
        privilege.enter_kernel();
        assert!(!privilege.is_user());
        assert_eq!(privilege.kernel_stack(), 0x8000);
    }

    #[test]
    fn hostile_registrations_are_refused() {
        let mut privilege = Privilege::default();
        assert_eq!(
            privilege.set_kernel_stack(0xffff_8000_0000_0000),
            Err(Status::BadAddress)
        );
        assert_eq!(
            privilege.set_kernel_stack(0x8008),
            Err(Status::InvalidArgument)
        );
        assert_eq!(
            privilege.set_syscall_entry(0xffff_ffff_8000_0000),
            Err(Status::BadAddress)
        );
        assert_eq!(
            privilege.set_syscall_entry(1 << 47),
            Err(Status::BadAddress)
        );
        assert_eq!(privilege.kernel_stack(), 0);
        assert_eq!(privilege.syscall_entry(), 0);
    }
}
