//! The guest kernel's system-call interface, shared by the guest kernel and
//! its user programs: not the hypervisor's ABI.
//!
//! A user program (running in guest-user mode, ABI 1.8) issues `syscall`
//! with the number in `rax` and the arguments in `rdi`, `rsi`, `rdx`, `r10`,
//! `r8`; the hypervisor delivers it to the guest kernel, which puts the
//! result in `rax`: a value of 0 or more, or the negation of an [`Error`]
//! code. `rcx` and `r11` are clobbered (by the instruction), every other
//! register is preserved. Numbers start at [`FIRST`], so the hypercall
//! numbers (all below it) are unknown system calls, and a number is never
//! reused. With the `user` feature, [`user`] holds the wrappers programs
//! call.
//!
//! Pointer arguments name user memory of the calling process; the guest
//! kernel checks every one (below the user-space top, mapped for user
//! access, writable when written) and answers [`Error::BadAddress`]
//! otherwise. Strings are passed as pointer and length, UTF-8, without a
//! terminator.

#[cfg(any(all(feature = "user", target_arch = "x86_64"), doc))]
pub mod user;

/// The lowest system-call number.
pub const FIRST: u64 = 0x100;

/// System calls: number, arguments, result.
#[repr(u64)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syscall {
    /// `exit(code)`: ends the process; its parent's `wait` returns `code`
    /// (the low 8 bits). Does not return.
    Exit = FIRST,
    /// `write(fd, pointer, length) -> written`: fd 1 and 2 are the console,
    /// 3 and up open files.
    Write = FIRST + 1,
    /// `read(fd, pointer, length) -> read`: fd 0 is the console (blocks
    /// until input is there), 3 and up open files (0 at the end).
    Read = FIRST + 2,
    /// `getpid() -> pid`.
    GetPid = FIRST + 3,
    /// `yield() -> 0`: lets the other ready processes run first.
    Yield = FIRST + 4,
    /// `sleep(nanoseconds) -> 0`.
    Sleep = FIRST + 5,
    /// `brk(end) -> end`: moves the end of the heap (the program break) to
    /// `end` and returns it; `brk(0)` returns the current end. The heap
    /// starts at the page after the program's last segment.
    Brk = FIRST + 6,
    /// `open(path, path_length, flags) -> fd` ([`open_flags`]).
    Open = FIRST + 7,
    /// `close(fd) -> 0`.
    Close = FIRST + 8,
    /// `unlink(path, path_length) -> 0`: removes a file.
    Unlink = FIRST + 9,
    /// `mkdir(path, path_length) -> 0`.
    Mkdir = FIRST + 10,
    /// `spawn(path, path_length, argv, argc) -> pid`: starts the program at
    /// `path` with `argc` arguments; `argv` points at `argc` [`Argument`]s
    /// (the first is the program's name, by convention).
    Spawn = FIRST + 11,
    /// `wait(pid) -> status`: waits until child `pid` has ended and returns
    /// its [`status`]; a process may wait only for its own children.
    Wait = FIRST + 12,
    /// `clock() -> nanoseconds` of virtual time since the domain started.
    Clock = FIRST + 13,
    /// `list(path, path_length, buffer, length) -> bytes`: the directory's
    /// entries, one per line, a directory's name ending in `/`; fails with
    /// [`Error::BufferTooSmall`] when they do not fit.
    List = FIRST + 14,
}

impl Syscall {
    /// Every system call, in number order.
    pub const ALL: [Syscall; 15] = [
        Syscall::Exit,
        Syscall::Write,
        Syscall::Read,
        Syscall::GetPid,
        Syscall::Yield,
        Syscall::Sleep,
        Syscall::Brk,
        Syscall::Open,
        Syscall::Close,
        Syscall::Unlink,
        Syscall::Mkdir,
        Syscall::Spawn,
        Syscall::Wait,
        Syscall::Clock,
        Syscall::List,
    ];

    /// The call with number `number`, if there is one.
    pub fn from_number(number: u64) -> Option<Syscall> {
        number
            .checked_sub(FIRST)
            .and_then(|index| Self::ALL.get(index as usize).copied())
    }
}

/// One argument of [`Syscall::Spawn`]: a string in the caller's memory.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Argument {
    /// IN: the string's first byte.
    pub pointer: u64,
    /// IN: its length in bytes.
    pub length: u64,
}

const _: () = assert!(core::mem::size_of::<Argument>() == 16);

/// Most arguments [`Syscall::Spawn`] accepts, and most bytes in them.
pub const MAX_ARGUMENTS: usize = 32;
/// Most bytes of all arguments of one [`Syscall::Spawn`] together.
pub const MAX_ARGUMENT_BYTES: usize = 4096;
/// Longest path accepted.
pub const MAX_PATH: usize = 1024;

/// Flags of [`Syscall::Open`].
pub mod open_flags {
    /// Open for reading.
    pub const READ: u64 = 1;
    /// Open for writing.
    pub const WRITE: u64 = 2;
    /// Create the file if it does not exist.
    pub const CREATE: u64 = 4;
    /// Cut the file to length 0.
    pub const TRUNCATE: u64 = 8;
    /// Every write goes to the end.
    pub const APPEND: u64 = 16;
    /// Every flag defined.
    pub const ALL: u64 = READ | WRITE | CREATE | TRUNCATE | APPEND;
}

/// The value [`Syscall::Wait`] returns.
pub mod status {
    /// Set when the process was killed for an exception; the low 8 bits
    /// are then the exception's vector.
    pub const KILLED: u64 = 1 << 8;

    /// The status of a process that exited with `code`.
    pub const fn exited(code: u64) -> u64 {
        code & 0xff
    }

    /// The status of a process killed by exception `vector`.
    pub const fn killed(vector: u64) -> u64 {
        KILLED | (vector & 0xff)
    }
}

/// System-call errors, returned as their negation.
#[repr(u64)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// No system call has this number.
    UnknownCall = 1,
    /// A pointer names memory the process may not access.
    BadAddress = 2,
    /// An argument is out of range (a flag not defined, a length too long).
    InvalidArgument = 3,
    /// No open file has this descriptor.
    BadDescriptor = 4,
    /// No file or directory has this path.
    NotFound = 5,
    /// Memory is exhausted (or the process's limit reached).
    NoMemory = 6,
    /// A limit is reached (processes, open files).
    LimitReached = 7,
    /// The process has no child with this pid.
    NoChild = 8,
    /// The file is not an executable this kernel can load.
    NotExecutable = 9,
    /// The path names a directory where a file is needed.
    IsDirectory = 10,
    /// A component of the path is not a directory.
    NotDirectory = 11,
    /// The file already exists.
    Exists = 12,
    /// The filesystem cannot do this (read-only, or not supported).
    Unsupported = 13,
    /// The disk or the filesystem failed.
    Io = 14,
    /// The result does not fit in the buffer given.
    BufferTooSmall = 15,
    /// The directory is not empty.
    NotEmpty = 16,
    /// The filesystem is full.
    NoSpace = 17,
    /// The file is open (`unlink`): its inode would be freed under the
    /// descriptors that name it.
    Busy = 18,
}

impl Error {
    /// Every error, for decoding.
    pub const ALL: [Error; 18] = [
        Error::UnknownCall,
        Error::BadAddress,
        Error::InvalidArgument,
        Error::BadDescriptor,
        Error::NotFound,
        Error::NoMemory,
        Error::LimitReached,
        Error::NoChild,
        Error::NotExecutable,
        Error::IsDirectory,
        Error::NotDirectory,
        Error::Exists,
        Error::Unsupported,
        Error::Io,
        Error::BufferTooSmall,
        Error::NotEmpty,
        Error::NoSpace,
        Error::Busy,
    ];

    /// The value placed in `rax` for this error.
    pub const fn to_raw(self) -> u64 {
        (self as u64).wrapping_neg()
    }

    /// A short description.
    pub const fn name(self) -> &'static str {
        match self {
            Error::UnknownCall => "unknown system call",
            Error::BadAddress => "bad address",
            Error::InvalidArgument => "invalid argument",
            Error::BadDescriptor => "bad file descriptor",
            Error::NotFound => "not found",
            Error::NoMemory => "out of memory",
            Error::LimitReached => "limit reached",
            Error::NoChild => "no such child",
            Error::NotExecutable => "not an executable",
            Error::IsDirectory => "is a directory",
            Error::NotDirectory => "not a directory",
            Error::Exists => "already exists",
            Error::Unsupported => "not supported",
            Error::Io => "I/O error",
            Error::BufferTooSmall => "buffer too small",
            Error::NotEmpty => "directory not empty",
            Error::NoSpace => "no space left",
            Error::Busy => "file is open",
        }
    }
}

/// Decodes a raw `rax`: a value, or the error whose negation it is (a
/// negative value this version does not define decodes as
/// [`Error::InvalidArgument`]).
pub fn decode(raw: u64) -> Result<u64, Error> {
    if (raw as i64) >= 0 {
        return Ok(raw);
    }
    let code = raw.wrapping_neg();
    Err(Error::ALL
        .into_iter()
        .find(|error| *error as u64 == code)
        .unwrap_or(Error::InvalidArgument))
}

/// Encodes a result for `rax`.
pub fn encode(result: Result<u64, Error>) -> u64 {
    match result {
        Ok(value) => value,
        Err(error) => error.to_raw(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_dense_and_above_the_hypercalls() {
        for (index, call) in Syscall::ALL.into_iter().enumerate() {
            assert_eq!(call as u64, FIRST + index as u64);
            assert_eq!(Syscall::from_number(call as u64), Some(call));
        }
        assert_eq!(Syscall::from_number(0), None);
        assert_eq!(Syscall::from_number(FIRST - 1), None);
        assert_eq!(Syscall::from_number(FIRST + 15), None);
        assert!(
            crate::hypercall::Hypercall::ALL
                .iter()
                .all(|h| (*h as u64) < FIRST)
        );
    }

    #[test]
    fn results_round_trip() {
        for error in Error::ALL {
            assert_eq!(decode(encode(Err(error))), Err(error));
        }
        assert_eq!(decode(encode(Ok(42))), Ok(42));
        assert_eq!(decode(u64::MAX - 1000), Err(Error::InvalidArgument));
    }
}
