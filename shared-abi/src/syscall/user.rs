//! The user side of the guest kernel's system calls (feature `user`): the
//! `syscall` instruction and one safe wrapper per call, for user programs.
//!
//! ```no_run
//! use shared_abi::syscall::user;
//! user::write(1, b"hello\n")?;
//! let pid = user::spawn("/bin/hello", &["hello", "a"])?;
//! let status = user::wait(pid)?;
//! # Ok::<(), shared_abi::syscall::Error>(())
//! ```

use super::{Argument, Error, MAX_ARGUMENTS, Syscall, decode};

/// Issues system call `number` with five arguments; returns the raw `rax`.
///
/// # Safety
///
/// The arguments must be valid for the call (the kernel checks pointers,
/// but a call that writes does write where it is told to).
#[inline]
pub unsafe fn raw(number: u64, args: [u64; 5]) -> u64 {
    // SAFETY: forwarded from the caller.
    unsafe { crate::instruction::syscall(number, args) }
}

fn call(call: Syscall, args: [u64; 5]) -> Result<u64, Error> {
    // SAFETY: the wrappers below pass pointers to memory they borrow, with
    // the lengths of the borrows; the kernel writes only within them.
    decode(unsafe { raw(call as u64, args) })
}

/// Ends the process with `code` (its parent's `wait` gets `code & 0xff`).
pub fn exit(code: u64) -> ! {
    let _ = call(Syscall::Exit, [code, 0, 0, 0, 0]);
    loop {
        core::hint::spin_loop();
    }
}

/// Writes `bytes` to `fd` (1 and 2: the console); returns how many went.
pub fn write(fd: u64, bytes: &[u8]) -> Result<usize, Error> {
    let args = [fd, bytes.as_ptr() as u64, bytes.len() as u64, 0, 0];
    call(Syscall::Write, args).map(|n| n as usize)
}

/// Reads into `buffer` from `fd` (0: the console, waiting for input);
/// returns how many bytes came (0: end of file).
pub fn read(fd: u64, buffer: &mut [u8]) -> Result<usize, Error> {
    let args = [fd, buffer.as_mut_ptr() as u64, buffer.len() as u64, 0, 0];
    call(Syscall::Read, args).map(|n| n as usize)
}

/// This process's id.
pub fn getpid() -> u64 {
    call(Syscall::GetPid, [0; 5]).unwrap_or(0)
}

/// Lets the other ready processes run first.
pub fn yield_now() {
    let _ = call(Syscall::Yield, [0; 5]);
}

/// Sleeps for at least `ns` nanoseconds of virtual time.
pub fn sleep(ns: u64) {
    let _ = call(Syscall::Sleep, [ns, 0, 0, 0, 0]);
}

/// Virtual time in nanoseconds since the domain started.
pub fn clock() -> u64 {
    call(Syscall::Clock, [0; 5]).unwrap_or(0)
}

/// Moves the end of the heap to `end` (0: only asks); returns the end.
pub fn brk(end: u64) -> Result<u64, Error> {
    call(Syscall::Brk, [end, 0, 0, 0, 0])
}

/// Opens `path` with [`open_flags`](super::open_flags); returns the fd.
pub fn open(path: &str, flags: u64) -> Result<u64, Error> {
    call(
        Syscall::Open,
        [path.as_ptr() as u64, path.len() as u64, flags, 0, 0],
    )
}

/// Closes `fd`.
pub fn close(fd: u64) -> Result<(), Error> {
    call(Syscall::Close, [fd, 0, 0, 0, 0]).map(|_| ())
}

/// Removes the file at `path`.
pub fn unlink(path: &str) -> Result<(), Error> {
    call(
        Syscall::Unlink,
        [path.as_ptr() as u64, path.len() as u64, 0, 0, 0],
    )
    .map(|_| ())
}

/// Makes the directory `path`.
pub fn mkdir(path: &str) -> Result<(), Error> {
    call(
        Syscall::Mkdir,
        [path.as_ptr() as u64, path.len() as u64, 0, 0, 0],
    )
    .map(|_| ())
}

/// Lists directory `path` into `buffer` (one entry per line, directories
/// ending in `/`); returns the bytes written.
pub fn list(path: &str, buffer: &mut [u8]) -> Result<usize, Error> {
    let args = [
        path.as_ptr() as u64,
        path.len() as u64,
        buffer.as_mut_ptr() as u64,
        buffer.len() as u64,
        0,
    ];
    call(Syscall::List, args).map(|n| n as usize)
}

/// Starts the program at `path` with `args` (the first, by convention, its
/// name); returns its pid.
pub fn spawn(path: &str, args: &[&str]) -> Result<u64, Error> {
    if args.len() > MAX_ARGUMENTS {
        return Err(Error::InvalidArgument);
    }
    let mut argv = [Argument::default(); MAX_ARGUMENTS];
    for (slot, arg) in argv.iter_mut().zip(args) {
        *slot = Argument {
            pointer: arg.as_ptr() as u64,
            length: arg.len() as u64,
        };
    }
    let call_args = [
        path.as_ptr() as u64,
        path.len() as u64,
        argv.as_ptr() as u64,
        args.len() as u64,
        0,
    ];
    call(Syscall::Spawn, call_args)
}

/// Waits for child `pid` to end; returns its [`status`](super::status).
pub fn wait(pid: u64) -> Result<u64, Error> {
    call(Syscall::Wait, [pid, 0, 0, 0, 0])
}
