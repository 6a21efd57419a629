//! Grant tables: a domain (the granter) lends chosen pages of its own
//! memory to a named domain (the grantee), read-only or read-write; the
//! grantee maps them into its window or copies bytes in and out, and every
//! use is checked against the granter's table.
//!
//! [`table`] is the granter's side (slots, generations, permissions, map
//! counts) and [`window`] the grantee's (its map slots); both are pure and
//! unit-tested on the host, and each domain record holds one of each. The
//! calls are in `hypercall/grant.rs`; what a mapping does to the domains'
//! memory and when a domain ends is in `domain/grants.rs`, where the whole
//! domain table is at hand: a grant never outlives either side. When a
//! domain ends, its own mappings are dropped, every grant other domains
//! gave it ends (a restarted domain, with the same identifier, starts
//! with none), and every mapping other domains hold of its pages is
//! revoked, before its frames are freed: the window slot is emptied and
//! the grantee's shadow translations of it dropped, so its next access
//! faults.

pub mod table;
pub mod window;
