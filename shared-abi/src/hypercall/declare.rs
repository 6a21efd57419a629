//! The `hypercalls!` macro: from one list of calls (number, name, named
//! arguments, result type) it declares [`Hypercall`](super::Hypercall)
//! with its number table, names and signatures, and the
//! [`request`](super::request) module with one [`Request`](super::Request)
//! struct per call.
//!
//! An entry reads
//! `Variant = NUMBER => "name" { argument: u64, ... } -> Output,`:
//! arguments are raw `u64` registers in the order `rdi`, `rsi`, `rdx`,
//! `r10`, `r8` (at most five; the hypervisor validates every value), and
//! `Output` is a [`Reply`](super::Reply). A call without arguments becomes
//! a unit struct.

macro_rules! hypercalls {
    (@struct $(#[$doc:meta])* $variant:ident {}) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $variant;
    };
    (@struct $(#[$doc:meta])* $variant:ident { $($field:ident),+ }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        #[allow(missing_docs)]
        pub struct $variant {
            $(pub $field: u64,)+
        }
    };
    ($(
        $(#[$doc:meta])*
        $variant:ident = $number:literal => $name:literal
            { $($field:ident: u64),* $(,)? } -> $output:ty,
    )*) => {
        /// Every hypercall the hypervisor knows. See `docs/abi/hypercalls.md`.
        #[repr(u64)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Hypercall {
            $($(#[$doc])* $variant = $number,)*
        }

        impl Hypercall {
            /// Every defined call, in number order.
            pub const ALL: [Hypercall; [$($number),*].len()] = [$(Hypercall::$variant),*];

            /// The call's name as used in the documentation and in logs.
            pub fn name(self) -> &'static str {
                match self {
                    $(Hypercall::$variant => $name,)*
                }
            }

            /// The names of the call's arguments, in register order
            /// (`rdi`, `rsi`, `rdx`, `r10`, `r8`): the fields of its
            /// [`request`] struct.
            pub fn arguments(self) -> &'static [&'static str] {
                match self {
                    $(Hypercall::$variant => &[$(stringify!($field)),*],)*
                }
            }

            /// The call as `docs/abi/hypercalls.md` heads it:
            /// `name(arguments) -> Output`.
            pub fn signature(self) -> &'static str {
                match self {
                    $(Hypercall::$variant => concat!(
                        $name, "(", stringify!($($field),*), ") -> ", stringify!($output)
                    ),)*
                }
            }
        }

        /// One typed request per hypercall, named after its
        /// [`Hypercall`] variant, with the call's arguments as named fields.
        /// A guest issues one with `guest::call` (feature `guest`), puts one
        /// in a batch with
        /// [`MulticallEntry::new`](crate::multicall::MulticallEntry::new);
        /// the hypervisor decodes the registers into the same struct.
        pub mod request {
            use super::*;

            $(
                hypercalls!(@struct $(#[$doc])* $variant { $($field),* });

                impl Request for $variant {
                    const CALL: Hypercall = Hypercall::$variant;
                    type Output = $output;

                    #[inline(always)]
                    fn to_args(self) -> [u64; 5] {
                        let mut args = [0; 5];
                        let [$($field,)* ..] = &mut args;
                        $(*$field = self.$field;)*
                        args
                    }

                    #[inline(always)]
                    fn from_args(args: &[u64; 5]) -> Self {
                        let [$($field,)* ..] = *args;
                        Self { $($field),* }
                    }
                }
            )*

            /// `args` decoded as `call`'s request and encoded again: the
            /// call's arguments kept, the unused registers zeroed.
            #[cfg(test)]
            pub(crate) fn round_trip(call: Hypercall, args: &[u64; 5]) -> [u64; 5] {
                match call {
                    $(Hypercall::$variant => $variant::from_args(args).to_args(),)*
                }
            }

            /// The [`Request::CALL`] of `call`'s request.
            #[cfg(test)]
            pub(crate) fn call_of(call: Hypercall) -> Hypercall {
                match call {
                    $(Hypercall::$variant => <$variant as Request>::CALL,)*
                }
            }
        }
    };
}
