//! Hypercall dispatch: decode the number in `rax` and the arguments into
//! the call's typed request (`shared_abi::hypercall::request`), run its
//! handler, and put the result (the call's output, or a negative
//! [`Status`]) back in `rax`.
//!
//! This file is the table and the dispatch; each family of calls has one
//! handler file: `info` (abi_version, start_info), `console`
//! (console_write, the console server's calls, the retired
//! console_attach and console_input), `sched` (yield, shutdown, set_timer,
//! block, watchdog), `mmu`, `trap` (set_trap_handler, iret), `event` (the shared
//! page, the upcall entry, ports, domain_lookup), `block` (block_info,
//! block_queue_setup), `multicall`, `grant` (the grant tables) and
//! `driver` (the driver domain's irq_bind, irq_done, pci_config_read,
//! pci_config_write, dma_address) and `directory` (backend_offer,
//! backend_domain, frontend_connect, backend_accept). A handler takes the request and
//! returns `Result<Output, Status>` with the request's `Output`, so the
//! table cannot pair a number with the wrong handler or arguments; the
//! adapters here decode the request and encode the result for `rax`
//! (`shared_abi::hypercall::encode_result`) inside each table entry. Each
//! handler has that one caller and is inlined there (`#[inline]` where the
//! compiler would not do it alone), so that encoding costs nothing.
//! Unknown numbers answer `UnknownHypercall`; no argument a guest passes
//! can make the hypervisor fault.

mod block;
mod console;
mod directory;
mod driver;
pub(crate) mod event;
mod grant;
mod info;
pub(crate) mod mmu;
mod multicall;
mod sched;
pub(crate) mod trap;

use shared_abi::hypercall::{Request, encode_result, request};
use shared_abi::{Hypercall, Status};

use crate::arch::x86_64::frame::TrapFrame;
use crate::domain::table::DomainTable;
use crate::domain::{Domain, State};

/// Bytes of the `syscall` instruction (`0f 05`): a call made again resumes
/// this far back.
const SYSCALL_BYTES: u64 = 2;

/// What the caller of a hypercall does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Resume the calling domain.
    Resume,
    /// Let the next runnable domain run.
    Yield,
    /// The domain sleeps until an event arrives.
    Block,
    /// The domain is over.
    End(State),
}

/// A call that never changes who runs: the exit path serves it on the
/// caller's scratch registers, without saving the others. It gets the
/// domain table (the caller is its current domain) and the five arguments,
/// and returns what `rax` carries back (a value, or a negative status).
pub type FastCall = fn(&mut DomainTable, &[u64; 5]) -> u64;

/// What a handler works on: the calling domain, or the whole table (for a
/// call that reaches other domains).
trait Scope {
    fn of(table: &mut DomainTable) -> &mut Self;
}

impl Scope for Domain {
    #[inline(always)]
    fn of(table: &mut DomainTable) -> &mut Self {
        table.caller()
    }
}

impl Scope for DomainTable {
    #[inline(always)]
    fn of(table: &mut DomainTable) -> &mut Self {
        table
    }
}

/// Decodes `args` as `handler`'s request, runs it on its scope and encodes
/// its result for `rax`.
#[inline(always)]
fn serve<R: Request, S: Scope + ?Sized>(
    table: &mut DomainTable,
    args: &[u64; 5],
    handler: impl FnOnce(&mut S, R) -> (Result<R::Output, Status>, Outcome),
) -> (u64, Outcome) {
    let (result, outcome) = handler(S::of(table), R::from_args(args));
    (encode_result(result), outcome)
}

/// [`serve`] for a handler that always resumes its caller: the body of a
/// [`FastCall`].
#[inline(always)]
fn fast<R: Request, S: Scope + ?Sized>(
    table: &mut DomainTable,
    args: &[u64; 5],
    handler: impl FnOnce(&mut S, R) -> Result<R::Output, Status>,
) -> u64 {
    serve::<R, S>(table, args, |scope, request| {
        (handler(scope, request), Outcome::Resume)
    })
    .0
}

/// The [`FastCall`] of each variant, `Variant => handler`, where the
/// handler takes `request::Variant`, so the compiler checks that every
/// number is decoded as its own request; `slow:` lists the calls that are
/// not fast calls.
macro_rules! fast_calls {
    ($call:ident, slow: $($slow:ident)|*; $($variant:ident => $handler:path,)*) => {
        match $call {
            $(Hypercall::$variant => |t, a| fast::<request::$variant, _>(t, a, $handler),)*
            $(Hypercall::$slow)|* => return None,
        }
    };
}

/// The handler of `call` if it is a [`FastCall`].
pub const fn fast_call(call: Hypercall) -> Option<FastCall> {
    let call: FastCall = fast_calls! { call, slow: Yield | Shutdown | Iret | SetTimer | Block | Watchdog | ConsoleWrite;
        AbiVersion => info::abi_version,
        StartInfo => info::start_info,
        MmuSetBase => mmu::set_base,
        MmuGetBase => mmu::get_base,
        MmuInvalidatePage => mmu::invalidate_page,
        MmuFlush => mmu::flush,
        SetTrapHandler => trap::set_handler,
        RegisterSharedInfo => event::register_shared_info,
        SetCallback => event::set_callback,
        EventBindVirq => event::bind_virq,
        EventAllocUnbound => event::alloc_unbound,
        EventBindInterdomain => event::bind_interdomain,
        EventSend => event::send,
        EventClose => event::close,
        EventStatus => event::status,
        EventUnmask => event::unmask,
        ForceCallback => event::force_callback,
        DomainLookup => event::lookup,
        ConsoleAttach => console::attach,
        BlockInfo => block::info,
        BlockQueueSetup => block::queue_setup,
        Multicall => multicall::multicall,
        SetKernelStack => trap::set_kernel_stack,
        SetSyscallEntry => trap::set_syscall_entry,
        GrantAccess => grant::access,
        GrantEnd => grant::end,
        GrantMap => grant::map,
        GrantUnmap => grant::unmap,
        GrantCopyFrom => grant::copy_from,
        GrantCopyTo => grant::copy_to,
        IrqBind => driver::irq_bind,
        IrqDone => driver::irq_done,
        PciConfigRead => driver::config_read,
        PciConfigWrite => driver::config_write,
        DmaAddress => driver::dma_address,
        BackendOffer => directory::offer,
        BackendDomain => directory::domain,
        FrontendConnect => directory::connect,
        BackendAccept => directory::accept,
        ConsoleRead => console::read,
        ConsoleInput => console::input,
        ConsoleCommand => console::command,
        DomainName => console::name,
    };
    Some(call)
}

/// Every fast call by number (`None`: a call that may change who runs, or
/// an unknown number).
static FAST_CALLS: [Option<FastCall>; Hypercall::ALL.len()] = {
    let mut table: [Option<FastCall>; Hypercall::ALL.len()] = [None; Hypercall::ALL.len()];
    let mut number = 0;
    while number < table.len() {
        table[number] = fast_call(Hypercall::ALL[number]);
        number += 1;
    }
    table
};

/// The fast call numbered `number`, if it is one: one table lookup.
pub fn fast_call_numbered(number: u64) -> Option<FastCall> {
    *FAST_CALLS.get(usize::try_from(number).ok()?)?
}

/// Serves the hypercall in `context`, the current domain's live registers
/// (number in `rax`, arguments in `rdi`, `rsi`, `rdx`, `r10`, `r8`); the
/// result goes back in `rax`.
pub fn dispatch(table: &mut DomainTable, context: &mut TrapFrame) -> Outcome {
    let (rax, outcome) = run(table, context);
    context.scratch.rax = rax;
    outcome
}

fn run(table: &mut DomainTable, context: &mut TrapFrame) -> (u64, Outcome) {
    let number = context.scratch.rax;
    let args = *context.scratch.args();
    let Some(call) = Hypercall::from_number(number) else {
        let domain = table.caller();
        log::debug!(
            "domain {} '{}': unknown hypercall {number}",
            domain.id(),
            domain.name()
        );
        return (Status::UnknownHypercall.to_raw(), Outcome::Resume);
    };
    match call {
        Hypercall::Yield => serve::<request::Yield, _>(table, &args, sched::yield_now),
        Hypercall::Shutdown => serve::<request::Shutdown, _>(table, &args, sched::shutdown),
        Hypercall::SetTimer => serve::<request::SetTimer, _>(table, &args, sched::set_timer),
        Hypercall::Block => serve::<request::Block, _>(table, &args, sched::block),
        Hypercall::Watchdog => serve::<request::Watchdog, _>(table, &args, sched::watchdog),
        Hypercall::Iret => {
            let iret = request::Iret::from_args(&args);
            let result = trap::iret(table.caller(), iret, context);
            (encode_result(result), Outcome::Resume)
        }
        Hypercall::ConsoleWrite => {
            let write = request::ConsoleWrite::from_args(&args);
            match console::write(table.caller(), write) {
                Some(result) => (encode_result(result), Outcome::Resume),
                // The console is behind: the call is made again, unchanged,
                // once the others have had their turn.
                None => {
                    context.scratch.rip -= SYSCALL_BYTES;
                    (number, Outcome::Yield)
                }
            }
        }
        call => match fast_call(call) {
            Some(fast) => (fast(table, &args), Outcome::Resume),
            None => (Status::UnknownHypercall.to_raw(), Outcome::Resume),
        },
    }
}
