//! Physical devices. The hypervisor drives none itself but the serial
//! port of its own diagnostics: the disk is given to the driver domain
//! ([`assigned`]), whose backend serves it to the other domains.

pub mod assigned;
