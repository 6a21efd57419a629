//! What a domain has cost and done, counted as it runs: printed by the
//! console's `Ctrl-A s` and sampled by the tracer. Each count is one
//! increment on a path that already has the domain at hand.

/// A domain's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    hypercalls: u64,
    system_calls: u64,
    exits: u64,
    reflected: u64,
    events: u64,
    cpu_ticks: u64,
    emulated: u64,
    patched: u64,
}

impl Counters {
    /// A hypercall was served (fast or slow path).
    #[inline(always)]
    pub fn hypercall(&mut self) {
        self.hypercalls += 1;
    }

    /// A `syscall` from guest-user mode entered the guest kernel.
    #[inline(always)]
    pub fn system_call(&mut self) {
        self.system_calls += 1;
    }

    /// The domain left ring 3 by anything but a fast hypercall.
    #[inline(always)]
    pub fn exit(&mut self) {
        self.exits += 1;
    }

    /// An exception was reflected to the domain's handler.
    pub fn reflected(&mut self) {
        self.reflected += 1;
    }

    /// The domain signalled an event channel port.
    pub fn event(&mut self) {
        self.events += 1;
    }

    /// A privileged instruction was decoded and emulated.
    pub fn emulated(&mut self) {
        self.emulated += 1;
    }

    /// A patched instruction ran its recorded operation.
    pub fn patched(&mut self) {
        self.patched += 1;
    }

    /// The domain ran for `ticks` TSC ticks.
    pub fn ran(&mut self, ticks: u64) {
        self.cpu_ticks += ticks;
    }

    /// Hypercalls served.
    pub fn hypercalls(&self) -> u64 {
        self.hypercalls
    }

    /// System calls of guest-user code delivered to the guest kernel.
    pub fn system_calls(&self) -> u64 {
        self.system_calls
    }

    /// Exits other than fast hypercalls.
    pub fn exits(&self) -> u64 {
        self.exits
    }

    /// Exceptions reflected to the domain.
    pub fn reflected_faults(&self) -> u64 {
        self.reflected
    }

    /// Event sends.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Privileged instructions decoded and emulated.
    pub fn emulated_instructions(&self) -> u64 {
        self.emulated
    }

    /// Executions of patched instructions.
    pub fn patched_runs(&self) -> u64 {
        self.patched
    }

    /// TSC ticks the domain ran for (hypervisor time on its behalf included).
    pub fn cpu_ticks(&self) -> u64 {
        self.cpu_ticks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_event_counts_once_where_it_belongs() {
        let mut counters = Counters::default();
        counters.hypercall();
        counters.hypercall();
        counters.system_call();
        counters.exit();
        counters.reflected();
        counters.event();
        counters.ran(10);
        counters.ran(5);
        counters.emulated();
        counters.patched();
        counters.patched();
        assert_eq!(counters.hypercalls(), 2);
        assert_eq!(counters.system_calls(), 1);
        assert_eq!(counters.exits(), 1);
        assert_eq!(counters.reflected_faults(), 1);
        assert_eq!(counters.events(), 1);
        assert_eq!(counters.cpu_ticks(), 15);
        assert_eq!(
            (counters.emulated_instructions(), counters.patched_runs()),
            (1, 2)
        );
    }
}
