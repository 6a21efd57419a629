//! The two traits of a typed hypercall: [`Request`] (the call and its
//! arguments) and [`Reply`] (what it returns on success, as carried in
//! `rax`).
//!
//! The guest encodes a request with [`Request::to_args`] and decodes the
//! answer with [`decode_result`]; the hypervisor decodes the registers
//! with [`Request::from_args`] and encodes its answer with
//! [`encode_result`]. A failure is a [`Status`] on both sides.

use super::Hypercall;
use crate::Status;
use crate::event::PortStatus;

/// One hypercall with its arguments: a struct of
/// [`request`](super::request), declared with the call's number and
/// result type.
pub trait Request: Copy {
    /// The call this request makes.
    const CALL: Hypercall;
    /// What the call returns on success.
    type Output: Reply;

    /// The arguments in register order (`rdi`, `rsi`, `rdx`, `r10`, `r8`);
    /// the registers the call does not use are 0.
    fn to_args(self) -> [u64; 5];

    /// The request that `args` (the same registers) carry; registers the
    /// call does not use are ignored. Any values decode: the handler
    /// validates them.
    fn from_args(args: &[u64; 5]) -> Self;
}

/// A hypercall's result on success, as carried in `rax` (a non-negative
/// value; errors are a [`Status`]).
pub trait Reply: Sized {
    /// The value for `rax`.
    fn to_raw(self) -> u64;

    /// Decodes a successful `rax`; [`Status::InvalidArgument`] for a value
    /// this type cannot hold (an ABI mismatch).
    fn from_raw(raw: u64) -> Result<Self, Status>;
}

/// A count, an address or a value the guest reads as it is.
impl Reply for u64 {
    #[inline(always)]
    fn to_raw(self) -> u64 {
        self
    }

    #[inline(always)]
    fn from_raw(raw: u64) -> Result<Self, Status> {
        Ok(raw)
    }
}

/// No value: `rax` is 0, and the guest ignores it.
impl Reply for () {
    #[inline(always)]
    fn to_raw(self) -> u64 {
        0
    }

    #[inline(always)]
    fn from_raw(_: u64) -> Result<Self, Status> {
        Ok(())
    }
}

/// A port, a domain id or the ABI version.
impl Reply for u32 {
    #[inline(always)]
    fn to_raw(self) -> u64 {
        u64::from(self)
    }

    #[inline(always)]
    fn from_raw(raw: u64) -> Result<Self, Status> {
        u32::try_from(raw).map_err(|_| Status::InvalidArgument)
    }
}

/// A port's state, packed as [`PortStatus::encode`] says.
impl Reply for PortStatus {
    #[inline(always)]
    fn to_raw(self) -> u64 {
        self.encode()
    }

    fn from_raw(raw: u64) -> Result<Self, Status> {
        PortStatus::decode(raw).ok_or(Status::InvalidArgument)
    }
}

/// What `rax` carries back for `result` (the hypervisor's side): the
/// output's [`Reply::to_raw`], or the negative status.
#[inline(always)]
pub fn encode_result<T: Reply>(result: Result<T, Status>) -> u64 {
    match result {
        Ok(value) => value.to_raw(),
        Err(status) => status.to_raw(),
    }
}

/// Decodes `rax` (the guest's side): the output, or the status a negative
/// value carries ([`Status::result`]).
#[inline(always)]
pub fn decode_result<T: Reply>(raw: u64) -> Result<T, Status> {
    Status::result(raw as i64).and_then(T::from_raw)
}
