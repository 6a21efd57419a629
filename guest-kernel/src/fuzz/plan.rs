//! What the fuzzer calls next: a hypercall number and arguments drawn from
//! classes of edge cases, shaped so that the fuzzer survives whatever the
//! call does (see the header of `src/bin/fuzz.rs` for why each shape is
//! what it is), and the outcome the ABI promises for it.
//!
//! Everything here is a function of the random generator, the fuzzer's
//! fixed [`Targets`] (its own memory layout) and the [`State`] its earlier
//! calls left (current address space, registered pages): the same seed on
//! the same build gives the same sequence.

use shared_abi::grant::{
    ACCESS_FLAGS, COPY_ONLY, GRANTS_MAX, GrantRef, MAP_WRITE, READ_ONLY, WINDOW_BASE,
    window_address,
};
use shared_abi::trap::ExceptionFrame;
use shared_abi::{Hypercall, Status};

use super::rng::Rng;

/// Base of the hypervisor's direct map of machine memory.
pub const DIRECT_MAP: u64 = 0xffff_8000_0000_0000;
/// Base of the hypervisor's own image (the kernel code model window).
pub const KERNEL_WINDOW: u64 = 0xffff_ffff_8000_0000;
/// Addresses that are not canonical.
pub const NON_CANONICAL: [u64; 5] = [
    0x0000_8000_0000_0000,
    0x8000_0000_0000_0000,
    0x7fff_ffff_ffff_ffff,
    0xffff_7fff_ffff_f000,
    0x1234_5678_9abc_def0,
];
/// Most hypervisor addresses the fuzzer is given.
pub const MAX_HV: usize = 8;
/// Most page tables the fuzzer aims at.
pub const MAX_TABLES: usize = 8;
/// Page-aligned flag bits of `rflags` the fuzzer may hand to `iret` in a
/// frame that must be accepted: CF PF AF ZF SF DF OF (TF and AC stay clear,
/// they would trap the fuzzer itself; RF and ID are harmless).
pub const FRAME_FLAGS: u64 = 0x0001 | 0x0004 | 0x0010 | 0x0040 | 0x0080 | 0x0400 | 0x0800;
/// `rflags` bits a guest must never get, whatever its frame says: IOPL,
/// NT, VM, VIF, VIP and the reserved bits the hypervisor drops.
pub const FORBIDDEN_FLAGS: u64 = 0x3000 | 0x4000 | 0x2_0000 | 0x8_0000 | 0x10_0000;

/// The fuzzer's fixed layout: its own addresses, given once at start.
#[derive(Clone, Copy, Debug, Default)]
pub struct Targets {
    /// This domain's id.
    pub domain_id: u64,
    /// The bystander's id (0 when there is none).
    pub peer_id: u64,
    /// Bytes of guest-physical memory.
    pub memory_bytes: u64,
    /// Where guest-physical memory is mapped (virtual).
    pub physmap: u64,
    /// The two valid page-table roots (guest-physical): the boot root and
    /// a clone of it.
    pub roots: [u64; 2],
    /// Guest-physical addresses of page tables of the current space.
    pub tables: [u64; MAX_TABLES],
    /// How many of `tables` are set.
    pub table_count: usize,
    /// A read-only alias of the root table (virtual); the page after it is
    /// unmapped.
    pub ro_alias: u64,
    /// A readable buffer of digits (virtual).
    pub text: u64,
    /// Its length.
    pub text_len: u64,
    /// The own name and the bystander's name, for `domain_lookup`: (virtual
    /// address, length).
    pub names: [(u64, u64); 2],
    /// A writable scratch buffer (virtual); the pages around it are unmapped.
    pub scratch: u64,
    /// Its length.
    pub scratch_len: u64,
    /// An address in the fuzzer's code (mapped read-only).
    pub code: u64,
    /// The unmapped guard page below the stack.
    pub stack_guard: u64,
    /// A large unmapped region of the lower half.
    pub unmapped: u64,
    /// Hypervisor addresses (its IDT, trap_return, TSS, stack, domain table,
    /// GDT).
    pub hv: [u64; MAX_HV],
    /// How many of `hv` are set.
    pub hv_count: usize,
    /// Two pages for the shared information (guest-physical).
    pub shared: [u64; 2],
    /// A page where `iret` frames are built (virtual).
    pub frames: u64,
    /// Top of a small stack a valid `iret` frame may resume on (virtual).
    pub alt_stack_top: u64,
    /// Where a valid `iret` frame resumes.
    pub landing: u64,
    /// The fuzzer's exception entry (reports any exception as a failure).
    pub trap_entry: u64,
    /// The fuzzer's upcall entry.
    pub upcall_entry: u64,
    /// Sectors of the virtual disk (0: none).
    pub sectors: u64,
}

/// What the fuzzer's calls so far have set up.
#[derive(Clone, Copy, Debug, Default)]
pub struct State {
    /// The current page-table root (guest-physical).
    pub root: u64,
    /// The registered shared-information page (guest-physical).
    pub shared: u64,
}

/// The outcome the ABI promises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Any documented result.
    Any,
    /// Exactly this value.
    Value(u64),
    /// A non-negative value.
    Success,
    /// This status.
    Status(Status),
}

impl Expect {
    /// Whether `raw` (the call's `rax`) keeps the promise.
    pub fn met_by(self, raw: i64) -> bool {
        match self {
            Expect::Any => raw >= 0 || Status::from_raw(raw).is_some(),
            Expect::Value(value) => raw as u64 == value,
            Expect::Success => raw >= 0,
            Expect::Status(status) => raw == status as i64,
        }
    }
}

/// How the fuzzer issues a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum How {
    /// `syscall` with the arguments as they are.
    Plain,
    /// `set_timer`: `args[0]` is a signed offset from now.
    TimerFromNow,
    /// `block`, after making sure something wakes the fuzzer: a timer
    /// (`wait`) or an event already pending.
    Block {
        /// Sleep until a timer fires (else return at once).
        wait: bool,
    },
    /// `iret` issued with `rsp` at `frame_ptr`; `frame` is written at that
    /// address first when the fuzzer built one.
    Iret {
        /// The frame pointer.
        frame_ptr: u64,
        /// The frame written there, if any.
        frame: Option<ExceptionFrame>,
    },
    /// Not issued: `shutdown` would end the fuzzer (it is called once, at
    /// the end).
    Skipped,
}

/// One hypercall to make.
#[derive(Clone, Copy, Debug)]
pub struct Call {
    /// The number in `rax`.
    pub number: u64,
    /// `rdi`, `rsi`, `rdx`, `r10`, `r8`.
    pub args: [u64; 5],
    /// How it is issued.
    pub how: How,
    /// What it must return.
    pub expect: Expect,
    /// For calls that write guest memory: the range `[start, end)` of the
    /// scratch buffer a refusal must leave untouched.
    pub untouched: Option<(u64, u64)>,
}

/// Memory the fuzzer overwrites with garbage between calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Garbage {
    /// The registered shared-information page.
    SharedInfo,
}

/// One step of the fuzzer.
#[derive(Clone, Copy, Debug)]
pub enum Step {
    /// A hypercall.
    Call(Call),
    /// A garbage write.
    Garbage(Garbage),
}

/// Relative weights of the defined calls, by number. `yield` and `block`
/// give the CPU away for up to a time slice each, `mmu_flush` makes the
/// fuzzer refill its shadow tables: they are rarer.
const WEIGHTS: [u32; Hypercall::ALL.len()] = [
    20, // abi_version
    50, // console_write
    1,  // yield
    0,  // shutdown (see How::Skipped)
    50, // start_info
    40, // mmu_set_base
    15, // mmu_get_base
    60, // mmu_invalidate_page
    8,  // mmu_flush
    40, // set_trap_handler
    60, // iret
    30, // register_shared_info
    30, // set_callback
    40, // set_timer
    1,  // block
    30, // event_bind_virq
    30, // event_alloc_unbound
    30, // event_bind_interdomain
    40, // event_send
    40, // event_close
    30, // event_status
    30, // event_unmask
    15, // force_callback
    40, // domain_lookup
    10, // console_attach (retired)
    15, // block_info
    10, // block_queue_setup (retired)
    30, // multicall
    30, // set_kernel_stack
    30, // set_syscall_entry
    30, // grant_access
    20, // grant_end
    30, // grant_map
    20, // grant_unmap
    30, // grant_copy_from
    30, // grant_copy_to
    15, // irq_bind
    15, // irq_done
    15, // pci_config_read
    15, // pci_config_write
    15, // dma_address
    30, // watchdog
    15, // backend_offer
    15, // backend_domain
    25, // frontend_connect
    25, // backend_accept
    15, // console_read
    10, // console_input (retired)
    15, // console_command
    30, // domain_name
];
/// Weight of numbers no call has.
const UNKNOWN_WEIGHT: u32 = 110;
/// One step in this many is a garbage write.
const GARBAGE_ONE_IN: u64 = 150;

const _: () = assert!(WEIGHTS.len() == Hypercall::ALL.len());

/// A pointer and what is known about the memory at it: the first `valid`
/// bytes can be accessed (read or written, as the pool says), and when
/// `bounded`, the byte after them cannot.
#[derive(Clone, Copy, Debug)]
struct Pointer {
    addr: u64,
    valid: u64,
    bounded: bool,
}

impl Pointer {
    const fn invalid(addr: u64) -> Self {
        Self {
            addr,
            valid: 0,
            bounded: true,
        }
    }

    /// The outcome of touching `[addr, addr + len)`, `len > 0`: `None` when
    /// it is accessible, else the status the hypervisor must answer (or
    /// `Any` when the pointer's extent is not known).
    fn refusal(self, len: u64) -> Option<Expect> {
        if self.addr.checked_add(len).is_none() {
            Some(Expect::Status(Status::InvalidArgument))
        } else if len <= self.valid {
            None
        } else if self.bounded {
            Some(Expect::Status(Status::BadAddress))
        } else {
            Some(Expect::Any)
        }
    }
}

/// The next step.
pub fn next_step(rng: &mut Rng, t: &Targets, s: &State) -> Step {
    if rng.chance(1, GARBAGE_ONE_IN) {
        return Step::Garbage(Garbage::SharedInfo);
    }
    let mut weights = [0u32; WEIGHTS.len() + 1];
    weights[..WEIGHTS.len()].copy_from_slice(&WEIGHTS);
    weights[WEIGHTS.len()] = UNKNOWN_WEIGHT;
    let index = rng.weighted(&weights);
    Step::Call(match Hypercall::from_number(index as u64) {
        Some(call) => defined(rng, t, s, call),
        None => unknown(rng, t),
    })
}

fn call(number: Hypercall, args: [u64; 5], expect: Expect) -> Call {
    Call {
        number: number as u64,
        args,
        how: How::Plain,
        expect,
        untouched: None,
    }
}

/// Arguments the call ignores: anything at all.
fn junk(rng: &mut Rng, t: &Targets) -> [u64; 5] {
    core::array::from_fn(|_| any_value(rng, t))
}

fn defined(rng: &mut Rng, t: &Targets, s: &State, which: Hypercall) -> Call {
    let mut args = junk(rng, t);
    match which {
        Hypercall::AbiVersion => call(which, args, Expect::Value(shared_abi::ABI_VERSION as u64)),
        Hypercall::ConsoleWrite => console_write(rng, t, args),
        Hypercall::Yield => call(which, args, Expect::Value(0)),
        Hypercall::Shutdown => Call {
            how: How::Skipped,
            ..call(which, args, Expect::Any)
        },
        Hypercall::StartInfo => start_info(rng, t, args),
        Hypercall::MmuSetBase => {
            let valid = rng.chance(1, 4);
            args[0] = if valid {
                rng.pick(&t.roots)
            } else {
                hostile_gpa(rng, t)
            };
            call(which, args, gpa_expect(valid))
        }
        Hypercall::MmuGetBase => call(which, args, Expect::Value(s.root)),
        Hypercall::MmuInvalidatePage => {
            args[0] = any_address(rng, t);
            call(which, args, Expect::Value(0))
        }
        Hypercall::MmuFlush => {
            args[0] = pick!(
                rng,
                [0, 1, 0, 1, 2, 3, u64::MAX, 1 << 32, 1 << 63, rng.next_u64()]
            );
            let expect = match args[0] {
                0 | 1 => Expect::Value(0),
                _ => Expect::Status(Status::InvalidArgument),
            };
            call(which, args, expect)
        }
        Hypercall::SetTrapHandler => {
            args[0] = vector(rng);
            let (handler, hostile) = handler(rng, t, t.trap_entry);
            args[1] = handler;
            let expect = if args[0] >= shared_abi::trap::VECTORS {
                Expect::Status(Status::InvalidArgument)
            } else if hostile {
                Expect::Status(Status::BadAddress)
            } else {
                Expect::Value(0)
            };
            call(which, args, expect)
        }
        Hypercall::Iret => iret(rng, t, args),
        Hypercall::RegisterSharedInfo => {
            let valid = rng.chance(1, 3);
            args[0] = if valid {
                rng.pick(&t.shared)
            } else {
                hostile_gpa(rng, t)
            };
            call(which, args, gpa_expect(valid))
        }
        Hypercall::SetCallback | Hypercall::SetSyscallEntry => {
            // A system-call entry is registered like the upcall's (the
            // fuzzer never enters guest-user mode to use it).
            let (handler, hostile) = handler(rng, t, t.upcall_entry);
            args[0] = handler;
            let expect = if hostile {
                Expect::Status(Status::BadAddress)
            } else {
                Expect::Value(0)
            };
            call(which, args, expect)
        }
        Hypercall::SetTimer => set_timer(rng, args),
        Hypercall::Watchdog => {
            // Only disarming and timeouts out of range: an armed watchdog
            // would stop the fuzzer once it stopped calling.
            use shared_abi::hypercall::{WATCHDOG_MAX_NS, WATCHDOG_MIN_NS};
            args[0] = pick!(
                rng,
                [
                    0,
                    1,
                    WATCHDOG_MIN_NS - 1,
                    WATCHDOG_MAX_NS + 1,
                    u64::MAX,
                    1 << 63,
                    rng.next_u64() | 1 << 40,
                ]
            );
            let expect = match args[0] {
                0 => Expect::Value(0),
                _ => Expect::Status(Status::InvalidArgument),
            };
            call(which, args, expect)
        }
        Hypercall::SetKernelStack => {
            // Only removals and hostile stacks: with none registered, every
            // `iret` to guest-user mode must be refused.
            args[0] = pick!(
                rng,
                [0, upper_or_non_canonical(rng, t), t.landing | 8, 8, 1 << 47]
            );
            let expect = match args[0] {
                0 => Expect::Value(0),
                top if top >> 47 != 0 => Expect::Status(Status::BadAddress),
                _ => Expect::Status(Status::InvalidArgument),
            };
            call(which, args, expect)
        }
        Hypercall::Block => Call {
            how: How::Block {
                wait: rng.chance(1, 2),
            },
            ..call(which, args, Expect::Value(0))
        },
        Hypercall::EventBindVirq => {
            args[0] = pick!(
                rng,
                [
                    0,
                    1,
                    2,
                    0,
                    1,
                    2,
                    3,
                    4,
                    255,
                    u32::MAX as u64,
                    1 << 32,
                    (1 << 32) | 1,
                    u64::MAX,
                    rng.next_u64(),
                ]
            );
            // VIRQ 2 (the block VIRQ) is retired: refused as unknown.
            let expect = if shared_abi::event::Virq::from_number(args[0]).is_none() {
                Expect::Status(Status::InvalidArgument)
            } else {
                Expect::Any
            };
            call(which, args, expect)
        }
        Hypercall::EventAllocUnbound => {
            args[0] = domain(rng, t);
            call(which, args, domain_expect(t, args[0], Expect::Any))
        }
        Hypercall::EventBindInterdomain => {
            args[0] = domain(rng, t);
            args[1] = port(rng);
            let expect = match port_in_range(args[1]) {
                true => Expect::Any,
                false => Expect::Status(Status::BadPort),
            };
            call(which, args, domain_expect(t, args[0], expect))
        }
        Hypercall::EventSend
        | Hypercall::EventClose
        | Hypercall::EventStatus
        | Hypercall::EventUnmask => {
            args[0] = port(rng);
            let expect = match (port_in_range(args[0]), which) {
                (false, _) => Expect::Status(Status::BadPort),
                (true, Hypercall::EventStatus) => Expect::Success,
                (true, _) => Expect::Any,
            };
            call(which, args, expect)
        }
        Hypercall::ForceCallback => call(which, args, Expect::Value(0)),
        Hypercall::DomainLookup => domain_lookup(rng, t, args),
        Hypercall::ConsoleAttach | Hypercall::ConsoleInput => retired(rng, t, which),
        Hypercall::BlockInfo => call(which, args, Expect::Value(t.sectors)),
        Hypercall::BlockQueueSetup => retired(rng, t, which),
        Hypercall::Multicall => multicall(rng, t, args),
        Hypercall::GrantAccess => grant_access(rng, t, args),
        Hypercall::GrantEnd => {
            // The fuzzer's own grants (to the bystander) may be live: only
            // a slot beyond the table is certainly refused.
            args[0] = grant_reference(rng);
            let expect = match GrantRef::from_raw(args[0]).slot() >= GRANTS_MAX {
                true => Expect::Status(Status::InvalidArgument),
                false => Expect::Any,
            };
            call(which, args, expect)
        }
        Hypercall::GrantMap => {
            // Nobody grants the fuzzer anything: every map is refused.
            args[0] = domain(rng, t);
            args[1] = grant_reference(rng);
            args[2] = pick!(rng, [0, MAP_WRITE, 0, MAP_WRITE, 2, u64::MAX, 1 << 63]);
            let expect = match args[2] & !MAP_WRITE {
                0 => domain_expect(t, args[0], Expect::Status(Status::Denied)),
                _ => Expect::Status(Status::InvalidArgument),
            };
            call(which, args, expect)
        }
        Hypercall::GrantUnmap => {
            args[0] = pick!(
                rng,
                [
                    WINDOW_BASE,
                    window_address(rng.below(40)),
                    WINDOW_BASE + rng.between(1, 4095),
                    hostile_gpa(rng, t),
                    0,
                    u64::MAX,
                ]
            );
            call(which, args, Expect::Status(Status::InvalidArgument))
        }
        Hypercall::GrantCopyFrom | Hypercall::GrantCopyTo => grant_copy(rng, t, which, args),
        Hypercall::IrqBind
        | Hypercall::IrqDone
        | Hypercall::PciConfigRead
        | Hypercall::PciConfigWrite
        | Hypercall::DmaAddress => driver_call(rng, t, which, args),
        Hypercall::BackendOffer
        | Hypercall::BackendDomain
        | Hypercall::FrontendConnect
        | Hypercall::BackendAccept => directory_call(rng, t, which, args),
        Hypercall::ConsoleRead | Hypercall::ConsoleCommand => {
            // Only the console's server may: refused before any argument
            // is looked at, whatever the pointers and lengths.
            args[0] = pick!(rng, [t.scratch, 1, 2, 3, u64::MAX, rng.next_u64()]);
            args[1] = any_address(rng, t);
            args[2] = pick!(rng, [0, 1, 4096, 4097, u64::MAX]);
            call(which, args, Expect::Status(Status::Denied))
        }
        Hypercall::DomainName => domain_name(rng, t, args),
    }
}

/// `domain_name(domain, ptr, len)`: a live domain's name into the scratch
/// buffer or to a hostile pointer, any id, any length.
fn domain_name(rng: &mut Rng, t: &Targets, mut args: [u64; 5]) -> Call {
    args[0] = domain(rng, t);
    let live = args[0] == t.domain_id || (t.peer_id != 0 && args[0] == t.peer_id);
    let writable = rng.chance(1, 2);
    args[1] = match writable {
        true => t.scratch,
        false => invalid(rng, t).addr,
    };
    args[2] = pick!(rng, [0, 1, 8, 32, 33, 4096, u64::MAX, rng.next_u64()]);
    let expect = match (live, writable) {
        (false, _) => Expect::Status(Status::InvalidArgument),
        (true, true) => Expect::Success,
        // `BAD_ADDRESS`, unless the length lets nothing be copied.
        (true, false) => Expect::Any,
    };
    call(Hypercall::DomainName, args, expect)
}

/// The directory's calls from a domain that is not the driver domain:
/// offering is denied whatever the kind, so is accepting whatever the
/// buffer; an unknown kind is refused; a port that is not one of the
/// fuzzer's is refused before the backend is looked for.
fn directory_call(rng: &mut Rng, t: &Targets, which: Hypercall, mut args: [u64; 5]) -> Call {
    args[0] = pick!(rng, [1, 2, 2, 0, 3, u32::MAX as u64 + 2, u64::MAX]);
    let known = matches!(args[0], 1 | 2);
    let expect = match which {
        Hypercall::BackendOffer => Expect::Status(Status::Denied),
        Hypercall::BackendDomain if known => Expect::Any,
        Hypercall::FrontendConnect => {
            args[1] = grant_reference(rng);
            args[2] = pick!(
                rng,
                [
                    0,
                    rng.below(64),
                    64,
                    u32::MAX as u64,
                    u64::MAX,
                    rng.next_u64()
                ]
            );
            let port_ok = (1..shared_abi::shared_info::MAX_PORTS as u64).contains(&args[2]);
            match (known, port_ok) {
                (false, _) => Expect::Status(Status::InvalidArgument),
                (true, false) => Expect::Status(Status::BadPort),
                (true, true) => Expect::Any,
            }
        }
        Hypercall::BackendAccept => {
            args[1] = match rng.below(3) {
                0 => t.scratch,
                1 => t.text,
                _ => hostile_address(rng, t),
            };
            args[2] = pick!(rng, [0, 32, 4096, u64::MAX, rng.next_u64()]);
            match known {
                true => Expect::Status(Status::Denied),
                false => Expect::Status(Status::InvalidArgument),
            }
        }
        _ => Expect::Status(Status::InvalidArgument),
    };
    call(which, args, expect)
}

/// A grant reference: the first ones of every slot, later generations,
/// slots beyond the table, any value.
fn grant_reference(rng: &mut Rng) -> u64 {
    pick!(
        rng,
        [
            GrantRef::first(rng.below(GRANTS_MAX)).raw(),
            GrantRef::new(rng.below(GRANTS_MAX), rng.below(4)).raw(),
            GrantRef::first(rng.between(GRANTS_MAX, 255)).raw(),
            0,
            u32::MAX as u64,
            u64::MAX,
            rng.next_u64(),
        ]
    )
}

/// `grant_access`: own pages (lent to the bystander, which never uses
/// them) and hostile ones, to every kind of domain, with every flag.
fn grant_access(rng: &mut Rng, t: &Targets, mut args: [u64; 5]) -> Call {
    args[0] = domain(rng, t);
    let valid = rng.chance(1, 3);
    args[1] = if valid {
        rng.pick(&t.shared)
    } else {
        hostile_gpa(rng, t)
    };
    args[2] = pick!(
        rng,
        [
            0,
            READ_ONLY,
            COPY_ONLY,
            READ_ONLY | COPY_ONLY,
            4,
            u64::MAX,
            1 << 63
        ]
    );
    let expect = if args[2] & !ACCESS_FLAGS != 0 || !valid || args[0] == t.domain_id {
        Expect::Status(Status::InvalidArgument)
    } else {
        domain_expect(t, args[0], Expect::Any)
    };
    call(Hypercall::GrantAccess, args, expect)
}

/// `grant_copy_from` / `grant_copy_to`: nobody grants the fuzzer anything,
/// so a copy inside the page is denied (or finds no domain); past the
/// page it is refused first. Buffers of every class.
fn grant_copy(rng: &mut Rng, t: &Targets, which: Hypercall, mut args: [u64; 5]) -> Call {
    args[0] = domain(rng, t);
    let offset = pick!(rng, [0, 1, 4095, 2048, rng.below(4096)]);
    args[1] = grant_reference(rng).wrapping_shl(12) | offset;
    args[2] = match rng.below(3) {
        0 => t.scratch,
        1 => t.text,
        _ => hostile_address(rng, t),
    };
    args[3] = pick!(
        rng,
        [
            0,
            1,
            16,
            4096 - offset,
            4097 - offset,
            4096,
            u64::MAX,
            rng.next_u64()
        ]
    );
    let expect = match args[3] > 4096 - offset {
        true => Expect::Status(Status::InvalidArgument),
        false => domain_expect(t, args[0], Expect::Status(Status::Denied)),
    };
    call(which, args, expect)
}

/// A driver-domain call from the fuzzer, which is not the driver domain:
/// `DENIED` whatever the arguments (valid-looking offsets, lines, ports
/// and addresses among them).
fn driver_call(rng: &mut Rng, t: &Targets, which: Hypercall, mut args: [u64; 5]) -> Call {
    args[0] = match rng.below(3) {
        0 => pick!(rng, [0, 4, 0x10, 0x3c, 0xfc, 11, 1, 2]),
        1 => rng.below(t.memory_bytes),
        _ => any_value(rng, t),
    };
    call(which, args, Expect::Status(Status::Denied))
}

/// `multicall` with hostile arrays only (no entry is ever run, so none can
/// hurt the fuzzer): unmapped, hypervisor or non-canonical addresses and
/// read-only pages, with counts of every class.
fn multicall(rng: &mut Rng, t: &Targets, mut args: [u64; 5]) -> Call {
    use shared_abi::multicall::MULTICALL_MAX;
    args[0] = match rng.below(3) {
        0 => hostile_address(rng, t),
        1 => t.ro_alias + rng.below(64) * 64,
        _ => t.code & !63,
    };
    args[1] = pick!(
        rng,
        [
            0,
            1,
            2,
            MULTICALL_MAX,
            MULTICALL_MAX + 1,
            1 << 58,
            u64::MAX,
            rng.next_u64()
        ]
    );
    let (ptr, count) = (args[0], args[1]);
    let refused = count == 0
        || count > MULTICALL_MAX
        || !ptr.is_multiple_of(64)
        || ptr.checked_add(count * 64).is_none();
    let expect = match refused {
        true => Expect::Status(Status::InvalidArgument),
        false => Expect::Status(Status::BadAddress),
    };
    call(Hypercall::Multicall, args, expect)
}

/// A number no call has, with arguments of every class.
fn unknown(rng: &mut Rng, t: &Targets) -> Call {
    let defined = Hypercall::ALL.len() as u64;
    let known = rng.below(defined);
    let number = pick!(
        rng,
        [
            defined,
            defined,
            defined + 1,
            rng.between(defined, 63),
            64,
            0x100,
            0xffff,
            shared_abi::bench::BARE_SYSCALL,
            u32::MAX as u64,
            (1 << 32) | known,
            (1 << 63) | known,
            1 << 63,
            u64::MAX,
            u64::MAX - 1,
            rng.next_u64() | 1 << 40,
        ]
    );
    Call {
        number,
        args: junk(rng, t),
        how: How::Plain,
        expect: Expect::Status(Status::UnknownHypercall),
        untouched: None,
    }
}

fn gpa_expect(valid: bool) -> Expect {
    match valid {
        true => Expect::Value(0),
        false => Expect::Status(Status::InvalidArgument),
    }
}

/// Any value of any class: what the fuzzer passes where a call ignores an
/// argument, and mixes into address arguments.
pub fn any_value(rng: &mut Rng, t: &Targets) -> u64 {
    match rng.below(8) {
        0 => 0,
        1 => u64::MAX,
        2 => rng.below(64),
        3 => 1 << rng.below(64),
        4 => rng.next_u64(),
        5 => rng.next_u64() >> rng.below(64),
        _ => any_address(rng, t),
    }
}

/// An address of any class, valid or not.
fn any_address(rng: &mut Rng, t: &Targets) -> u64 {
    match rng.below(6) {
        0 | 1 => hostile_address(rng, t),
        2 => readable(rng, t).addr,
        3 => rng.pick(&t.roots) + pick!(rng, [0, 1, 8, 0xfff, 0x1000]),
        4 => t.physmap + rng.below(t.memory_bytes) + pick!(rng, [0, 1]),
        _ => rng.next_u64() & 0x0000_7fff_ffff_ffff,
    }
}

/// A hypervisor address: its direct map, its image window, or one of the
/// structures xtask named, give or take a little.
fn hypervisor_address(rng: &mut Rng, t: &Targets) -> u64 {
    let near = rng.between(0, 512).wrapping_sub(256);
    match rng.below(4) {
        0 => {
            DIRECT_MAP
                + pick!(
                    rng,
                    [
                        0,
                        0x1000,
                        0x10_0000,
                        rng.below(1 << 32),
                        rng.next_u64() >> 18
                    ]
                )
        }
        1 => KERNEL_WINDOW + rng.below(0x80_0000),
        _ if t.hv_count > 0 => t.hv[rng.below(t.hv_count as u64) as usize].wrapping_add(near),
        _ => KERNEL_WINDOW + 0x10_0000 + rng.below(0x10_0000),
    }
}

/// An address nothing of the guest's is mapped at: nothing at all may be
/// read or written there.
fn hostile_address(rng: &mut Rng, t: &Targets) -> u64 {
    match rng.below(11) {
        0 => rng.below(4096),
        1 => t.unmapped + rng.below(1 << 30),
        2 => t.stack_guard + rng.below(4096),
        3 | 4 => hypervisor_address(rng, t),
        5 => rng.pick(&NON_CANONICAL),
        6 => (1 << 47) | (rng.next_u64() & 0x7fff_7fff_ffff_ffff),
        7 => u64::MAX - rng.below(256),
        8 => t.physmap + t.memory_bytes + rng.below(4096),
        9 => t.scratch + t.scratch_len + rng.below(4096),
        _ => rng.next_u64() | 1 << 63,
    }
}

/// An upper-half or non-canonical address: what a handler, a callback or
/// an `iret` target may never be.
fn upper_or_non_canonical(rng: &mut Rng, t: &Targets) -> u64 {
    loop {
        let addr = hostile_address(rng, t);
        if addr >> 47 != 0 {
            return addr;
        }
    }
}

/// A pointer the guest may read from.
fn readable(rng: &mut Rng, t: &Targets) -> Pointer {
    match rng.below(6) {
        0 => {
            let offset = rng.below(t.text_len);
            Pointer {
                addr: t.text + offset,
                valid: t.text_len - offset,
                bounded: false,
            }
        }
        1 => {
            let table = t.tables[rng.below(t.table_count as u64) as usize];
            let offset = rng.below(4096);
            Pointer {
                addr: t.physmap + table + offset,
                valid: 4096 - offset,
                bounded: false,
            }
        }
        2 => {
            let offset = rng.below(4096);
            Pointer {
                addr: t.ro_alias + offset,
                valid: 4096 - offset,
                bounded: true,
            }
        }
        3 => scratch(rng, t),
        4 => Pointer {
            addr: t.code,
            valid: 16,
            bounded: false,
        },
        _ => {
            let left = rng.between(1, 64);
            Pointer {
                addr: t.physmap + t.memory_bytes - left,
                valid: left,
                bounded: true,
            }
        }
    }
}

/// A pointer into the scratch buffer (readable and writable to its end;
/// the page after it is unmapped).
fn scratch(rng: &mut Rng, t: &Targets) -> Pointer {
    let offset = rng.below(t.scratch_len);
    Pointer {
        addr: t.scratch + offset,
        valid: t.scratch_len - offset,
        bounded: true,
    }
}

/// A length for a buffer at `pointer`.
fn length(rng: &mut Rng, pointer: Pointer) -> u64 {
    pick!(
        rng,
        [
            0,
            1,
            rng.between(2, 16),
            rng.between(17, 4096),
            31,
            32,
            33,
            127,
            128,
            129,
            4095,
            4096,
            4097,
            u32::MAX as u64,
            u64::MAX,
            1 << 63,
            u64::MAX - pointer.addr,
            (u64::MAX - pointer.addr).wrapping_add(1),
            rng.next_u64(),
        ]
    )
}

fn console_write(rng: &mut Rng, t: &Targets, mut args: [u64; 5]) -> Call {
    let max = shared_abi::hypercall::CONSOLE_WRITE_MAX;
    let (pointer, len) = if rng.chance(1, 2) {
        let pointer = invalid(rng, t);
        (pointer, length(rng, pointer))
    } else {
        // Readable memory: print little of it (digits, or page-table bytes,
        // which the console shows as `?`), or run past its known end, or
        // ask for too much.
        let pointer = readable(rng, t);
        let printable = match pointer.addr == t.code {
            true => 0,
            false => pointer.valid.min(16),
        };
        let len = match rng.below(4) {
            0 | 1 => rng.between(0, printable),
            2 if pointer.bounded => pointer.valid + rng.between(1, 16),
            _ => pick!(
                rng,
                [max + 1, u64::MAX, 1 << 63, max + 1 + rng.below(1 << 20)]
            ),
        };
        (pointer, len)
    };
    args[0] = pointer.addr;
    args[1] = len;
    let expect = if len > max {
        Expect::Status(Status::InvalidArgument)
    } else if len == 0 {
        Expect::Value(0)
    } else {
        pointer.refusal(len).unwrap_or(Expect::Value(len))
    };
    call(Hypercall::ConsoleWrite, args, expect)
}

/// A pointer to memory the guest cannot use at all.
fn invalid(rng: &mut Rng, t: &Targets) -> Pointer {
    if rng.chance(1, 6) {
        // Starts inside the scratch buffer, runs into the unmapped page.
        let left = rng.between(1, 64);
        Pointer {
            addr: t.scratch + t.scratch_len - left,
            valid: left,
            bounded: true,
        }
    } else {
        Pointer::invalid(hostile_address(rng, t))
    }
}

fn start_info(rng: &mut Rng, t: &Targets, mut args: [u64; 5]) -> Call {
    use shared_abi::start_info::StartInfo;
    const SIZE: u64 = core::mem::size_of::<StartInfo>() as u64;
    // The struct before ABI 1.9: still accepted, and then all that is written.
    const MIN: u64 = StartInfo::MIN_LEN as u64;
    let short = pick!(rng, [0, 1, MIN - 1, rng.below(MIN)]);
    let long = pick!(
        rng,
        [
            MIN,
            MIN + 1,
            SIZE - 1,
            SIZE,
            SIZE + 1,
            4096,
            u64::MAX,
            rng.next_u64() | SIZE
        ]
    );
    let mut untouched = None;
    let (addr, len) = match rng.below(6) {
        // Hostile pointers, any length.
        0 | 1 => {
            let pointer = invalid(rng, t);
            (pointer, pick!(rng, [short, long, long]))
        }
        // Read-only memory: the alias of the root table, the code.
        2 => {
            let addr = pick!(rng, [t.ro_alias + rng.below(4096), t.code]);
            (Pointer::invalid(addr), pick!(rng, [short, long, long]))
        }
        // The page tables themselves: only with a buffer too small.
        3 => {
            let table = t.tables[rng.below(t.table_count as u64) as usize];
            let addr = t.physmap + table + rng.below(4096);
            (Pointer::invalid(addr), short)
        }
        // The scratch buffer: written when the bytes asked for fit.
        _ => {
            let pointer = scratch(rng, t);
            (pointer, pick!(rng, [short, long, long, long]))
        }
    };
    args[0] = addr.addr;
    args[1] = len;
    // All of it, or the part before ABI 1.9 for a buffer too short for all.
    let written = if len >= SIZE { SIZE } else { MIN };
    let expect = if len < MIN {
        Expect::Status(Status::BufferTooSmall)
    } else {
        addr.refusal(written).unwrap_or(Expect::Value(written))
    };
    if expect != Expect::Value(written) {
        // A refused write leaves every byte as it was.
        untouched = Some((t.scratch, t.scratch + t.scratch_len));
    }
    Call {
        untouched,
        ..call(Hypercall::StartInfo, args, expect)
    }
}

/// A guest-physical address the hypervisor must refuse for a page it
/// keeps (root, shared page): unaligned, beyond memory,
/// virtual addresses, hypervisor addresses.
fn hostile_gpa(rng: &mut Rng, t: &Targets) -> u64 {
    let page = pick!(rng, [t.roots[0], t.roots[1], t.shared[0]]);
    match rng.below(8) {
        0 => page + rng.between(1, 4095),
        1 => t.memory_bytes + pick!(rng, [0, 4096, 1 << 20, rng.below(1 << 30) << 12]),
        2 => t.memory_bytes - rng.between(1, 4095),
        3 => pick!(rng, [u64::MAX, !0xfff, 1 << 63, 1 << 47, 1 << 32]),
        4 => (t.physmap + rng.pick(&t.tables)) & !0xfff,
        5 => upper_or_non_canonical(rng, t) & !0xfff,
        6 => (rng.next_u64() | t.memory_bytes.next_power_of_two()) & !0xfff,
        _ => rng.next_u64() | 1,
    }
}

/// An exception vector: valid ones and just past them.
fn vector(rng: &mut Rng) -> u64 {
    pick!(
        rng,
        [
            rng.below(32),
            rng.below(32),
            rng.below(32),
            32,
            33,
            255,
            256,
            u32::MAX as u64,
            (1 << 32) | 14,
            (1 << 63) | 13,
            u64::MAX,
            rng.next_u64(),
        ]
    )
}

/// A handler for `set_trap_handler` or `set_callback`: removed (0), the
/// fuzzer's own entry, or an address the hypervisor must refuse. Returns
/// it and whether it must be refused.
fn handler(rng: &mut Rng, t: &Targets, own: u64) -> (u64, bool) {
    match rng.below(4) {
        0 => (0, false),
        1 => (own, false),
        _ => (upper_or_non_canonical(rng, t), true),
    }
}

fn set_timer(rng: &mut Rng, mut args: [u64; 5]) -> Call {
    let mut how = How::Plain;
    args[0] = match rng.below(10) {
        0 => 0,
        1 => 1,
        2 => rng.below(1_000_000),
        3 => u64::MAX,
        4 => 1 << 63,
        5 => rng.next_u64(),
        6 => 1 << rng.between(40, 62),
        _ => {
            // From now: a little in the past or the near future.
            how = How::TimerFromNow;
            pick!(
                rng,
                [
                    rng.between(1_000, 2_000_000),
                    rng.between(1_000, 2_000_000),
                    0u64.wrapping_sub(rng.between(1, 1_000_000)),
                ]
            )
        }
    };
    Call {
        how,
        ..call(Hypercall::SetTimer, args, Expect::Value(0))
    }
}

/// A domain id: the fuzzer, the bystander, and ids no domain has.
fn domain(rng: &mut Rng, t: &Targets) -> u64 {
    pick!(
        rng,
        [
            t.domain_id,
            t.domain_id,
            t.peer_id,
            0,
            3,
            64,
            u16::MAX as u64,
            u32::MAX as u64,
            (1 << 32) | t.domain_id,
            u64::MAX,
            rng.next_u64(),
        ]
    )
}

/// `expect` for a live domain, `BAD_PORT` for any other id.
fn domain_expect(t: &Targets, remote: u64, expect: Expect) -> Expect {
    let live = remote == t.domain_id || (t.peer_id != 0 && remote == t.peer_id);
    match live {
        true => expect,
        false => Expect::Status(Status::BadPort),
    }
}

/// A port number: every real one, and just past them.
fn port(rng: &mut Rng) -> u64 {
    pick!(
        rng,
        [
            rng.between(1, 63),
            rng.between(1, 63),
            rng.between(1, 8),
            rng.between(1, 8),
            0,
            63,
            64,
            65,
            128,
            u32::MAX as u64,
            (1 << 32) | 1,
            1 << 63,
            u64::MAX,
            rng.next_u64(),
        ]
    )
}

fn port_in_range(port: u64) -> bool {
    (1..shared_abi::shared_info::MAX_PORTS as u64).contains(&port)
}

fn domain_lookup(rng: &mut Rng, t: &Targets, mut args: [u64; 5]) -> Call {
    const MAX: u64 = 32;
    let (pointer, len, own) = match rng.below(5) {
        0 | 1 => {
            let which = rng.below(2) as usize;
            let (addr, name_len) = t.names[which];
            let len = pick!(
                rng,
                [name_len, name_len, name_len + 1, name_len.saturating_sub(1)]
            );
            let pointer = Pointer {
                addr,
                valid: MAX,
                bounded: false,
            };
            (pointer, len, which == 0 && len == name_len)
        }
        2 => {
            let pointer = readable(rng, t);
            (pointer, rng.between(0, pointer.valid.min(MAX + 1)), false)
        }
        _ => {
            let pointer = invalid(rng, t);
            (
                pointer,
                pick!(rng, [0, 1, 4, MAX, MAX + 1, u64::MAX, length(rng, pointer)]),
                false,
            )
        }
    };
    args[0] = pointer.addr;
    args[1] = len;
    let expect = if len > MAX {
        Expect::Status(Status::InvalidArgument)
    } else if len == 0 {
        Expect::Status(Status::BadPort)
    } else if let Some(refused) = pointer.refusal(len) {
        refused
    } else if own {
        Expect::Value(t.domain_id)
    } else {
        Expect::Any
    };
    call(Hypercall::DomainLookup, args, expect)
}

/// A retired call (`block_queue_setup` in ABI 2.0, `console_attach` and
/// `console_input` in 4.0): whatever the arguments, `UNKNOWN_HYPERCALL`.
fn retired(rng: &mut Rng, t: &Targets, which: Hypercall) -> Call {
    let args = junk(rng, t);
    call(which, args, Expect::Status(Status::UnknownHypercall))
}

fn iret(rng: &mut Rng, t: &Targets, args: [u64; 5]) -> Call {
    let refused = Expect::Status(Status::InvalidArgument);
    let (frame_ptr, frame, expect) = match rng.below(10) {
        // A frame pointer that cannot be read.
        0..=3 => {
            let pointer = invalid(rng, t);
            let expect = pointer.refusal(80).unwrap_or(Expect::Any);
            (pointer.addr, None, expect)
        }
        // A readable frame that names a hostile rip or rsp.
        4..=6 => {
            let mut frame = random_frame(rng, t);
            match rng.below(3) {
                0 => frame.rip = upper_or_non_canonical(rng, t),
                1 => frame.rsp = upper_or_non_canonical(rng, t),
                _ => {
                    frame.rip = upper_or_non_canonical(rng, t);
                    frame.rsp = upper_or_non_canonical(rng, t);
                }
            }
            (frame_slot(rng, t), Some(frame), refused)
        }
        // A frame the hypervisor must accept: it resumes at the landing.
        // One that asks for guest-user mode is refused: the fuzzer never
        // registers a kernel stack.
        _ => {
            let frame = random_frame(rng, t);
            let expect = match frame.is_user() {
                true => refused,
                false => Expect::Value(frame.rax),
            };
            (frame_slot(rng, t), Some(frame), expect)
        }
    };
    Call {
        how: How::Iret { frame_ptr, frame },
        ..call(Hypercall::Iret, args, expect)
    }
}

/// Where in the frame page a frame goes (any alignment).
fn frame_slot(rng: &mut Rng, t: &Targets) -> u64 {
    let offset = match rng.below(2) {
        0 => 16 * rng.below((4096 - 80) / 16),
        _ => rng.below(4096 - 80),
    };
    t.frames + offset
}

/// A frame that resumes at the landing on the small stack, with random
/// registers and flags (garbage in the bits the hypervisor must drop).
fn random_frame(rng: &mut Rng, t: &Targets) -> ExceptionFrame {
    let flags = (rng.next_u64() & FRAME_FLAGS)
        | (rng.next_u64() & (FORBIDDEN_FLAGS | 0x200 | 0x1_0000 | 0x20_0000))
        | if rng.chance(1, 4) {
            rng.next_u64() & !(FRAME_FLAGS | 0x100 | 0x4_0000)
        } else {
            0x202
        };
    let landing = t.landing;
    ExceptionFrame {
        rax: rng.next_u64() >> 1,
        rcx: pick!(rng, [rng.next_u64(), landing]),
        r11: pick!(rng, [rng.next_u64(), flags]),
        vector: rng.next_u64(),
        error_code: rng.next_u64(),
        fault_address: rng.next_u64(),
        rip: landing,
        rflags: flags,
        rsp: t.alt_stack_top - rng.below(256),
        saved_mask: pick!(rng, [0, 1, 1, rng.next_u64()]),
    }
}
