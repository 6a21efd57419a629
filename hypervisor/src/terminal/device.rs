//! One domain's split console backend: the rings it registered, with the
//! backend's own indices kept private.
//!
//! The backend is the output ring's consumer and the input ring's producer.
//! It never trusts the guest's copy of its own indices: it keeps them here,
//! writes them out, and only reads the guest's indices (the output producer
//! and the input consumer), checking each against what is possible. A bad
//! index disconnects the console; it never stalls or crashes the
//! hypervisor.

use alloc::collections::VecDeque;
use core::sync::atomic::Ordering;

use shared_abi::ring::{ConsoleRings, INPUT_SIZE, OUTPUT_SIZE, RingFault, check_peer_index};

use crate::mm::address::MachineAddr;
use crate::mm::direct_map::machine_ptr;

/// Input bytes held for a domain whose ring is full.
pub const INPUT_QUEUE_LIMIT: usize = 4096;

/// A connected console.
#[derive(Debug)]
pub struct RingDevice {
    page: MachineAddr,
    out_cons: u32,
    last_out_prod: u32,
    in_prod: u32,
    last_in_cons: u32,
}

/// What corrupted a ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Corrupt {
    /// Which index.
    pub index: &'static str,
    /// How.
    pub fault: RingFault,
}

impl RingDevice {
    /// Connects the rings in the machine page `page` (a frame of the
    /// domain's memory), resetting every index.
    pub fn attach(page: MachineAddr) -> Self {
        let device = Self {
            page,
            out_cons: 0,
            last_out_prod: 0,
            in_prod: 0,
            last_in_cons: 0,
        };
        let rings = device.rings();
        for index in [
            &rings.in_cons,
            &rings.in_prod,
            &rings.out_cons,
            &rings.out_prod,
        ] {
            index.store(0, Ordering::SeqCst);
        }
        device
    }

    /// The shared page. The reference is not tied to `self` (the page is
    /// guest memory, not part of the device) and is only used within one
    /// call, while the domain and its memory are alive.
    fn rings<'a>(&self) -> &'a ConsoleRings {
        // SAFETY: `page` is a frame of the domain's memory, kept while the
        // domain lives; ConsoleRings fits in it and is all atomics, so the
        // guest changing it concurrently is well-defined.
        unsafe { &*machine_ptr(self.page).cast::<ConsoleRings>() }
    }

    /// Moves everything the guest has produced to `sink`. Returns whether
    /// anything moved.
    pub fn drain(&mut self, mut sink: impl FnMut(&[u8])) -> Result<bool, Corrupt> {
        let rings = self.rings();
        let prod = rings.out_prod.load(Ordering::Acquire);
        check_peer_index(
            self.out_cons,
            self.last_out_prod,
            prod,
            OUTPUT_SIZE as u32,
            true,
        )
        .map_err(|fault| Corrupt {
            index: "output producer",
            fault,
        })?;
        self.last_out_prod = prod;
        let ring = rings.output_ring();
        let mut buffer = [0u8; 256];
        let mut moved = false;
        while self.out_cons != prod {
            let count = ring.consume_with(self.out_cons, prod, &mut buffer);
            self.out_cons = self.out_cons.wrapping_add(count);
            sink(&buffer[..count as usize]);
            moved = true;
        }
        Ok(moved)
    }

    /// Moves queued input into the ring as far as it has room. Returns
    /// whether anything moved.
    pub fn fill(&mut self, queue: &mut VecDeque<u8>) -> Result<bool, Corrupt> {
        let rings = self.rings();
        let cons = rings.in_cons.load(Ordering::Acquire);
        check_peer_index(
            self.in_prod,
            self.last_in_cons,
            cons,
            INPUT_SIZE as u32,
            false,
        )
        .map_err(|fault| Corrupt {
            index: "input consumer",
            fault,
        })?;
        self.last_in_cons = cons;
        let ring = rings.input_ring();
        let mut moved = false;
        while !queue.is_empty() {
            let (chunk, _) = queue.as_slices();
            let count = ring.produce_with(self.in_prod, cons, chunk);
            if count == 0 {
                break;
            }
            self.in_prod = self.in_prod.wrapping_add(count);
            queue.drain(..count as usize);
            moved = true;
        }
        Ok(moved)
    }
}
