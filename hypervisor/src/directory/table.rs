//! The directory as a pure table: a backend domain per [`Kind`] and a
//! bounded queue of pending [`Connection`]s per kind.

use shared_abi::Status;
use shared_abi::backend::{Connection, KINDS, Kind, PENDING_MAX};

/// Backends and their pending connections.
#[derive(Debug)]
pub struct Directory {
    /// The backend domain of kind `index + 1`.
    backends: [Option<u32>; KINDS],
    /// Connections not yet taken, per kind, oldest first.
    pending: [[Connection; PENDING_MAX]; KINDS],
    /// Connections queued per kind.
    queued: [usize; KINDS],
}

fn slot(kind: Kind) -> usize {
    kind as usize - 1
}

impl Directory {
    /// An empty directory.
    pub const fn new() -> Self {
        Self {
            backends: [None; KINDS],
            pending: [[Connection {
                kind: 0,
                frontend: 0,
                reference: 0,
                port: 0,
                first_sector: 0,
                sectors: 0,
            }; PENDING_MAX]; KINDS],
            queued: [0; KINDS],
        }
    }

    /// Domain `domain` becomes the backend of `kind`: `ALREADY_BOUND` if
    /// one is registered.
    pub fn offer(&mut self, kind: Kind, domain: u32) -> Result<(), Status> {
        let entry = &mut self.backends[slot(kind)];
        if entry.is_some() {
            return Err(Status::AlreadyBound);
        }
        *entry = Some(domain);
        Ok(())
    }

    /// The backend domain of `kind`, if any.
    pub fn backend(&self, kind: Kind) -> Option<u32> {
        self.backends[slot(kind)]
    }

    /// Whether domain `domain` is the backend of some kind.
    pub fn serves(&self, domain: u32) -> bool {
        self.backends.contains(&Some(domain))
    }

    /// Queues `connection` for the backend of its kind (one per frontend:
    /// a newer one replaces a pending older one); returns the backend.
    /// `NOT_READY` without a backend, `LIMIT_REACHED` when the queue is
    /// full.
    pub fn connect(&mut self, kind: Kind, connection: Connection) -> Result<u32, Status> {
        let index = slot(kind);
        let backend = self.backends[index].ok_or(Status::NotReady)?;
        let queued = self.queued[index];
        let pending = &mut self.pending[index];
        if let Some(old) = pending[..queued]
            .iter_mut()
            .find(|c| c.frontend == connection.frontend)
        {
            *old = connection;
            return Ok(backend);
        }
        if queued == PENDING_MAX {
            return Err(Status::LimitReached);
        }
        pending[queued] = connection;
        self.queued[index] += 1;
        Ok(backend)
    }

    /// The connections pending for backend `domain` of `kind` (up to
    /// `max`, oldest first), without taking them: `DENIED` unless it is
    /// that backend.
    pub fn peek(
        &self,
        domain: u32,
        kind: Kind,
        max: usize,
    ) -> Result<([Connection; PENDING_MAX], usize), Status> {
        let index = slot(kind);
        if self.backends[index] != Some(domain) {
            return Err(Status::Denied);
        }
        let mut out = [Connection::default(); PENDING_MAX];
        let count = self.queued[index].min(max);
        out[..count].copy_from_slice(&self.pending[index][..count]);
        Ok((out, count))
    }

    /// Takes the first `count` connections [`Directory::peek`] gave for
    /// `domain` and `kind`.
    pub fn take(&mut self, domain: u32, kind: Kind, count: usize) {
        let index = slot(kind);
        if self.backends[index] != Some(domain) {
            return;
        }
        let taken = count.min(self.queued[index]);
        self.pending[index].copy_within(taken..self.queued[index], 0);
        self.queued[index] -= taken;
    }

    /// Domain `domain` ended: the kinds it served lose their backend and
    /// their pending connections, and its own pending connections go.
    /// Returns whether it was a backend.
    pub fn ended(&mut self, domain: u32) -> bool {
        let mut was_backend = false;
        for index in 0..KINDS {
            if self.backends[index] == Some(domain) {
                self.backends[index] = None;
                self.queued[index] = 0;
                was_backend = true;
                continue;
            }
            let queued = self.queued[index];
            let pending = &mut self.pending[index];
            let mut kept = 0;
            for at in 0..queued {
                if pending[at].frontend != domain {
                    pending[kept] = pending[at];
                    kept += 1;
                }
            }
            self.queued[index] = kept;
        }
        was_backend
    }
}

impl Default for Directory {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(frontend: u32) -> Connection {
        Connection {
            kind: Kind::Block as u32,
            frontend,
            reference: 1,
            port: 2,
            first_sector: 8192 * u64::from(frontend),
            sectors: 8192,
        }
    }

    #[test]
    fn one_backend_per_kind() {
        let mut directory = Directory::new();
        assert_eq!(directory.backend(Kind::Block), None);
        assert!(!directory.serves(1));
        directory.offer(Kind::Block, 1).unwrap();
        assert!(directory.serves(1));
        assert!(!directory.serves(2));
        assert_eq!(directory.offer(Kind::Block, 1), Err(Status::AlreadyBound));
        assert_eq!(directory.offer(Kind::Block, 2), Err(Status::AlreadyBound));
        assert_eq!(directory.backend(Kind::Block), Some(1));
        assert_eq!(directory.backend(Kind::Console), None);
    }

    #[test]
    fn connections_queue_in_order_and_are_bounded() {
        let mut directory = Directory::new();
        assert_eq!(
            directory.connect(Kind::Block, from(2)),
            Err(Status::NotReady)
        );
        directory.offer(Kind::Block, 1).unwrap();
        for frontend in 2..2 + PENDING_MAX as u32 {
            assert_eq!(directory.connect(Kind::Block, from(frontend)), Ok(1));
        }
        assert_eq!(
            directory.connect(Kind::Block, from(99)),
            Err(Status::LimitReached)
        );
        // A frontend asking again replaces its pending connection.
        let mut again = from(2);
        again.port = 7;
        assert_eq!(directory.connect(Kind::Block, again), Ok(1));
        assert_eq!(directory.peek(2, Kind::Block, 4), Err(Status::Denied));
        assert_eq!(directory.peek(1, Kind::Console, 4), Err(Status::Denied));
        let (first, count) = directory.peek(1, Kind::Block, 3).unwrap();
        assert_eq!(count, 3);
        assert_eq!((first[0].frontend, first[0].port), (2, 7));
        assert_eq!(first[2].frontend, 4);
        directory.take(1, Kind::Block, 3);
        let (rest, count) = directory.peek(1, Kind::Block, 100).unwrap();
        assert_eq!(count, PENDING_MAX - 3);
        assert_eq!(rest[0].frontend, 5);
        assert_eq!(directory.peek(1, Kind::Block, 0).unwrap().1, 0);
    }

    #[test]
    fn an_ending_backend_takes_its_queue_along() {
        let mut directory = Directory::new();
        directory.offer(Kind::Block, 1).unwrap();
        directory.connect(Kind::Block, from(2)).unwrap();
        directory.connect(Kind::Block, from(3)).unwrap();
        assert!(!directory.ended(2));
        assert_eq!(directory.peek(1, Kind::Block, 9).unwrap().1, 1);
        assert!(directory.ended(1));
        assert_eq!(directory.backend(Kind::Block), None);
        assert_eq!(directory.peek(1, Kind::Block, 9), Err(Status::Denied));
        directory.offer(Kind::Block, 1).unwrap();
        assert_eq!(directory.peek(1, Kind::Block, 9).unwrap().1, 0);
    }

    #[test]
    fn each_kind_is_accepted_on_its_own() {
        let mut directory = Directory::new();
        directory.offer(Kind::Block, 1).unwrap();
        directory.offer(Kind::Console, 1).unwrap();
        directory.connect(Kind::Block, from(2)).unwrap();
        let mut console = from(3);
        console.kind = Kind::Console as u32;
        directory.connect(Kind::Console, console).unwrap();
        let (pending, count) = directory.peek(1, Kind::Console, 9).unwrap();
        assert_eq!((count, pending[0].frontend), (1, 3));
        directory.take(1, Kind::Console, 1);
        assert_eq!(directory.peek(1, Kind::Console, 9).unwrap().1, 0);
        let (pending, count) = directory.peek(1, Kind::Block, 9).unwrap();
        assert_eq!((count, pending[0].frontend), (1, 2));
    }
}
