//! A domain's event-channel ports and the operations on them.
//!
//! Ports are numbered from 1 to [`MAX_PORTS`]` - 1` (port 0 is never
//! allocated), the lowest free one first. Every misuse returns a status:
//! an unknown or free port, a port in the wrong state, a VIRQ or interrupt
//! line bound twice, a full table, a peer that does not exist or did not
//! offer the port.

use shared_abi::Status;
use shared_abi::event::{PortState, PortStatus, VIRQS, Virq};
use shared_abi::shared_info::MAX_PORTS;

/// A domain identifier.
pub type DomainId = u32;

/// What a port is connected to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Port {
    /// Not allocated.
    Free,
    /// Offered to `remote`, which has not bound it yet.
    Unbound { remote: DomainId },
    /// Connected to `remote_port` of `remote`.
    Interdomain { remote: DomainId, remote_port: u32 },
    /// Raised by the hypervisor for a virtual IRQ.
    Virq(Virq),
    /// Raised by the hypervisor when interrupt line `0` of the driver
    /// domain's device interrupts.
    Irq(u8),
}

/// One domain's ports.
#[derive(Clone, Debug)]
pub struct PortTable {
    ports: [Port; MAX_PORTS as usize],
    virqs: [Option<u32>; VIRQS as usize],
    /// The port bound to an interrupt line (a domain has at most one).
    irq: Option<u32>,
}

impl Default for PortTable {
    fn default() -> Self {
        Self {
            ports: [Port::Free; MAX_PORTS as usize],
            virqs: [None; VIRQS as usize],
            irq: None,
        }
    }
}

impl PortTable {
    /// The port `number`, if it is in range and allocated.
    pub fn get(&self, number: u64) -> Result<Port, Status> {
        match self
            .ports
            .get(usize::try_from(number).map_err(|_| Status::BadPort)?)
        {
            Some(Port::Free) | None => Err(Status::BadPort),
            Some(port) if number != 0 => Ok(*port),
            Some(_) => Err(Status::BadPort),
        }
    }

    fn allocate(&mut self, port: Port) -> Result<u32, Status> {
        let number = (1..MAX_PORTS)
            .find(|&n| self.ports[n as usize] == Port::Free)
            .ok_or(Status::LimitReached)?;
        self.ports[number as usize] = port;
        Ok(number)
    }

    /// Binds a new port to `virq`.
    pub fn bind_virq(&mut self, virq: u64) -> Result<u32, Status> {
        let virq = Virq::from_number(virq).ok_or(Status::InvalidArgument)?;
        if self.virqs[virq as usize].is_some() {
            return Err(Status::AlreadyBound);
        }
        let port = self.allocate(Port::Virq(virq))?;
        self.virqs[virq as usize] = Some(port);
        Ok(port)
    }

    /// The port bound to `virq`, if any.
    pub fn virq_port(&self, virq: Virq) -> Option<u32> {
        self.virqs[virq as usize]
    }

    /// Binds a new port to interrupt line `line` (whether the domain may
    /// have it is the caller's decision).
    pub fn bind_irq(&mut self, line: u8) -> Result<u32, Status> {
        if self.irq.is_some() {
            return Err(Status::AlreadyBound);
        }
        let port = self.allocate(Port::Irq(line))?;
        self.irq = Some(port);
        Ok(port)
    }

    /// The port bound to an interrupt line, if any.
    pub fn irq_port(&self) -> Option<u32> {
        self.irq
    }

    /// Allocates a port for `remote` to bind.
    pub fn alloc_unbound(&mut self, remote: DomainId) -> Result<u32, Status> {
        self.allocate(Port::Unbound { remote })
    }

    /// Frees `number`, returning what it was connected to.
    pub fn close(&mut self, number: u64) -> Result<Port, Status> {
        let port = self.get(number)?;
        match port {
            Port::Virq(virq) => self.virqs[virq as usize] = None,
            Port::Irq(_) => self.irq = None,
            _ => {}
        }
        self.ports[number as usize] = Port::Free;
        Ok(port)
    }

    /// Sets `number` to `port` (used by the cross-domain operations).
    fn set(&mut self, number: u32, port: Port) {
        self.ports[number as usize] = port;
    }

    /// The status of `number` (a free port reports `Free`).
    pub fn status(&self, number: u64) -> Result<PortStatus, Status> {
        if number == 0 || number >= MAX_PORTS as u64 {
            return Err(Status::BadPort);
        }
        let (state, remote, remote_port) = match self.ports[number as usize] {
            Port::Free => (PortState::Free, 0, 0),
            Port::Unbound { remote } => (PortState::Unbound, remote as u16, 0),
            Port::Interdomain {
                remote,
                remote_port,
            } => (PortState::Interdomain, remote as u16, remote_port),
            Port::Virq(virq) => (PortState::Virq, virq as u16, 0),
            Port::Irq(line) => (PortState::Irq, line.into(), 0),
        };
        Ok(PortStatus {
            state,
            remote_domain_or_virq: remote,
            remote_port,
        })
    }

    /// Every allocated port, for teardown.
    pub fn allocated(&self) -> impl Iterator<Item = (u32, Port)> + '_ {
        (1..MAX_PORTS)
            .map(|n| (n, self.ports[n as usize]))
            .filter(|(_, p)| *p != Port::Free)
    }
}

/// The port tables of every live domain, by id.
pub trait PortTables {
    /// The table of domain `id`, or `None` if no such domain is alive.
    fn table(&mut self, id: DomainId) -> Option<&mut PortTable>;
}

/// Connects a new port of `local` to port `remote_port` of `remote`, which
/// must have been offered to `local` with `alloc_unbound`. `local` and
/// `remote` may be the same domain (a loopback pair).
pub fn bind_interdomain(
    tables: &mut impl PortTables,
    local: DomainId,
    remote: DomainId,
    remote_port: u64,
) -> Result<u32, Status> {
    let offered = tables
        .table(remote)
        .ok_or(Status::BadPort)?
        .get(remote_port)?;
    if offered != (Port::Unbound { remote: local }) {
        return Err(if matches!(offered, Port::Interdomain { .. }) {
            Status::AlreadyBound
        } else {
            Status::BadPort
        });
    }
    let port = tables
        .table(local)
        .ok_or(Status::BadPort)?
        .allocate(Port::Interdomain {
            remote,
            remote_port: remote_port as u32,
        })?;
    if let Some(table) = tables.table(remote) {
        table.set(
            remote_port as u32,
            Port::Interdomain {
                remote: local,
                remote_port: port,
            },
        );
    }
    Ok(port)
}

/// After `port` of `local` was closed (it was `closed`): an interdomain
/// peer's end goes back to unbound, offered to `local` again.
pub fn disconnect_peer(tables: &mut impl PortTables, local: DomainId, port: u32, closed: Port) {
    let Port::Interdomain {
        remote,
        remote_port,
    } = closed
    else {
        return;
    };
    let peer_end = Port::Interdomain {
        remote: local,
        remote_port: port,
    };
    if let Some(table) = tables.table(remote)
        && table.get(remote_port as u64) == Ok(peer_end)
    {
        table.set(remote_port, Port::Unbound { remote: local });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Domains 1 and 2 (index 0 stands for "no such domain").
    struct Tables([PortTable; 3]);

    impl PortTables for Tables {
        fn table(&mut self, id: DomainId) -> Option<&mut PortTable> {
            (1..=2).contains(&id).then(|| &mut self.0[id as usize])
        }
    }

    fn pair() -> Tables {
        Tables([
            PortTable::default(),
            PortTable::default(),
            PortTable::default(),
        ])
    }

    #[test]
    fn virq_binding_is_exclusive_and_bounded() {
        let mut table = PortTable::default();
        let port = table.bind_virq(Virq::Timer as u64).unwrap();
        assert_eq!(port, 1);
        assert_eq!(
            table.bind_virq(Virq::Timer as u64),
            Err(Status::AlreadyBound)
        );
        assert_eq!(table.bind_virq(99), Err(Status::InvalidArgument));
        assert_eq!(table.virq_port(Virq::Timer), Some(1));
        assert_eq!(table.close(1), Ok(Port::Virq(Virq::Timer)));
        assert_eq!(table.virq_port(Virq::Timer), None);
        assert_eq!(table.close(1), Err(Status::BadPort), "closing twice");
        for _ in 1..MAX_PORTS {
            table.alloc_unbound(2).unwrap();
        }
        assert_eq!(table.alloc_unbound(2), Err(Status::LimitReached));
    }

    #[test]
    fn an_interrupt_line_is_bound_once() {
        let mut table = PortTable::default();
        let port = table.bind_irq(11).unwrap();
        assert_eq!(table.bind_irq(11), Err(Status::AlreadyBound));
        assert_eq!(table.bind_irq(5), Err(Status::AlreadyBound));
        assert_eq!(table.irq_port(), Some(port));
        let status = table.status(port as u64).unwrap();
        assert_eq!(
            (status.state, status.remote_domain_or_virq),
            (PortState::Irq, 11)
        );
        assert_eq!(table.close(port as u64), Ok(Port::Irq(11)));
        assert_eq!(table.irq_port(), None);
        assert_eq!(table.bind_irq(11), Ok(port), "bound again after close");
    }

    #[test]
    fn interdomain_binding_requires_an_offer_to_the_binder() {
        let mut tables = pair();
        let offered = tables.0[1].alloc_unbound(2).unwrap();
        let not_for_me = tables.0[1].alloc_unbound(1).unwrap();
        let bound = bind_interdomain(&mut tables, 2, 1, offered as u64).unwrap();
        assert_eq!(
            tables.0[2].get(bound as u64),
            Ok(Port::Interdomain {
                remote: 1,
                remote_port: offered
            })
        );
        assert_eq!(
            tables.0[1].get(offered as u64),
            Ok(Port::Interdomain {
                remote: 2,
                remote_port: bound
            })
        );
        assert_eq!(
            bind_interdomain(&mut tables, 2, 1, offered as u64),
            Err(Status::AlreadyBound)
        );
        assert_eq!(
            bind_interdomain(&mut tables, 2, 1, not_for_me as u64),
            Err(Status::BadPort)
        );
        assert_eq!(
            bind_interdomain(&mut tables, 2, 7, 1),
            Err(Status::BadPort),
            "no such domain"
        );
        assert_eq!(
            bind_interdomain(&mut tables, 2, 1, 40),
            Err(Status::BadPort),
            "free port"
        );
        assert_eq!(
            bind_interdomain(&mut tables, 2, 1, u64::MAX),
            Err(Status::BadPort)
        );
    }

    #[test]
    fn loopback_and_close_disconnects_the_peer() {
        let mut tables = pair();
        let offered = tables.0[1].alloc_unbound(1).unwrap();
        let bound = bind_interdomain(&mut tables, 1, 1, offered as u64).unwrap();
        assert_ne!(offered, bound);
        let closed = tables.0[1].close(bound as u64).unwrap();
        disconnect_peer(&mut tables, 1, bound, closed);
        assert_eq!(
            tables.0[1].get(offered as u64),
            Ok(Port::Unbound { remote: 1 })
        );
        let status = tables.0[1].status(offered as u64).unwrap();
        assert_eq!(status.state, PortState::Unbound);
        assert_eq!(
            tables.0[1].status(bound as u64).unwrap().state,
            PortState::Free
        );
        assert_eq!(tables.0[1].status(0), Err(Status::BadPort));
        assert_eq!(tables.0[1].status(MAX_PORTS as u64), Err(Status::BadPort));
    }
}
