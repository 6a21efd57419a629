//! The domain record.

use alloc::string::String;
use core::fmt::Write;

use super::memory::DomainMemory;
use super::paging::DomainShadow;
use super::vcpu::Vcpu;
use crate::console::{self, DomainConsole};
use crate::event::PortTable;
use crate::mm::address::MachineAddr;

/// What a domain is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Ready to run (or running).
    Runnable,
    /// Waiting for an event (the `block` hypercall).
    Blocked,
    /// Shut down by its own hypercall with this code.
    Exited(u64),
    /// Stopped by the hypervisor for misbehaving.
    Stopped,
}

/// One guest.
pub struct Domain {
    /// Identifier, from 1.
    pub id: u32,
    /// Name from the bundle.
    pub name: String,
    /// Argument string from the bundle.
    pub args: String,
    /// Guest-physical memory (released when the domain ends).
    pub memory: Option<DomainMemory>,
    /// Shadow page tables (released when the domain ends).
    pub shadow: Option<DomainShadow>,
    /// Registered exception handlers by vector (0: none).
    pub traps: [u64; shared_abi::trap::VECTORS as usize],
    /// The virtual CPU.
    pub vcpu: Vcpu,
    /// Current state.
    pub state: State,
    /// The domain's side of the console (unfinished line, split console).
    pub console: DomainConsole,
    /// The shared-information page (a frame of the domain's own memory).
    pub shared_info: Option<MachineAddr>,
    /// The event upcall entry point (0: none).
    pub callback: u64,
    /// The one-shot timer's deadline, as a TSC value.
    pub timer_deadline: Option<u64>,
    /// TSC when the domain was created: virtual time 0.
    pub start_tsc: u64,
    /// Event-channel ports.
    pub ports: PortTable,
    /// The virtual disk (its region of the physical disk and its queue).
    pub disk: crate::devices::block::DomainDisk,
}

impl Domain {
    /// Writes early-console bytes, one prefixed line at a time.
    pub fn console_write(&mut self, bytes: &[u8]) {
        console::write_early(self, bytes);
    }

    /// Ends the domain: flushes its console and frees its memory and page
    /// tables. The caller must not be running on this domain's tables.
    pub fn release(&mut self, state: State) {
        console::flush(self);
        self.console.device = None;
        self.state = state;
        if let Some(shadow) = self.shadow.take() {
            let stats = shadow.stats();
            let mut pool = crate::log::LineBuffer::new();
            let _ = match stats.recycles {
                0 => write!(pool, "shadow pool never exhausted"),
                n => write!(pool, "shadow pool exhausted {n} times, recycled"),
            };
            log::debug!(
                "domain {} '{}': {} shadow fills, {} shadow roots built, {}",
                self.id,
                self.name,
                stats.fills,
                stats.root_misses + 1,
                core::str::from_utf8(pool.as_bytes()).unwrap_or("")
            );
            log::info!(
                "domain {} '{}': {} shadow table bytes at exit",
                self.id,
                self.name,
                shadow.tables_in_use() as u64 * crate::mm::address::PAGE_SIZE
            );
            shadow.into_pool().release();
        }
        self.memory = None;
    }

    /// Whether the domain has not ended.
    pub fn is_alive(&self) -> bool {
        matches!(self.state, State::Runnable | State::Blocked)
    }

    /// Bytes of guest-physical memory.
    pub fn memory_bytes(&self) -> u64 {
        use crate::mm::guest_memory::GuestPhysMemory;
        self.memory.as_ref().map_or(0, |memory| memory.size())
    }
}
