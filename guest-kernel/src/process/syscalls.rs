//! The system-call handler: decodes a call from user mode, checks its
//! arguments, runs it, and resumes the caller or switches.
//!
//! The numbers, errors and conventions are `shared_abi::syscall`'s. A call
//! that has to wait (console input, a child) blocks the process with its
//! `rip` moved back onto the `syscall` instruction, so it is issued again
//! when the process is woken; `sleep` blocks with its result already set.

use alloc::string::String;
use alloc::vec::Vec;

use shared_abi::guest::upcall::UpcallContext;
use shared_abi::syscall::{
    Argument, Error, MAX_ARGUMENT_BYTES, MAX_ARGUMENTS, MAX_PATH, Syscall, encode,
};

use super::scheduler::{self, end_current, preemption_due, switch};
use super::table::{Outcome, Pid, Process, State, TABLE, Wait};
use super::{IMAGE_TOP, UserAddress, files, user_memory};
use crate::drivers::console;
use crate::interrupts;
use crate::memory::paging::PageFlags;

/// Bytes of the `syscall` instruction.
const SYSCALL_LENGTH: u64 = 2;
/// Most bytes one `write` or `read` moves.
const MAX_TRANSFER: usize = 64 * 1024;
/// Most bytes of heap a process may have.
const MAX_HEAP: u64 = 1 << 30;
const PAGE: u64 = 4096;

/// What the call leaves the caller to.
enum Step {
    /// Resume with this result.
    Return(Result<u64, Error>),
    /// Block until `Wait` holds, then issue the call again.
    Retry(Wait),
    /// Block until the deadline, then resume with 0.
    Sleep(u64),
    /// Resume others first, then this one with 0.
    Yield,
    /// End the process.
    Exit(u64),
}

/// The handler registered with `user::set_syscall_handler`.
pub(super) fn on_syscall(context: *mut UpcallContext) -> *mut UpcallContext {
    // SAFETY: the stub passes the context it saved at the top of the
    // running process's kernel stack; nothing else refers to it.
    let saved = unsafe { &mut *context };
    let args = [saved.rdi, saved.rsi, saved.rdx, saved.r10, saved.r8];
    let step = match Syscall::from_number(saved.frame.rax) {
        Some(call) => run(call, args),
        None => Step::Return(Err(Error::UnknownCall)),
    };
    interrupts::disable();
    let mut table = TABLE.lock();
    match step {
        Step::Return(result) => {
            saved.frame.rax = encode(result);
            match preemption_due() {
                true => switch(&mut table, context),
                false => context,
            }
        }
        Step::Retry(wait) => {
            saved.frame.rip -= SYSCALL_LENGTH;
            block(&mut table, context, State::Blocked(wait))
        }
        Step::Sleep(deadline) => {
            saved.frame.rax = 0;
            block(&mut table, context, State::Blocked(Wait::Until(deadline)))
        }
        Step::Yield => {
            saved.frame.rax = 0;
            switch(&mut table, context)
        }
        Step::Exit(code) => end_current(&mut table, context, Outcome::Exited(code)),
    }
}

fn block(
    table: &mut super::table::Table,
    context: *mut UpcallContext,
    state: State,
) -> *mut UpcallContext {
    if let Some((_, process)) = table.running() {
        process.state = state;
    }
    switch(table, context)
}

/// Runs `f` on the running process, with the table locked.
fn current<R>(f: impl FnOnce(Pid, &mut Process) -> Result<R, Error>) -> Result<R, Error> {
    interrupts::without(|| {
        let mut table = TABLE.lock();
        let (pid, process) = table.running().ok_or(Error::NoChild)?;
        f(pid, process)
    })
}

fn path(process: &Process, pointer: u64, length: u64) -> Result<String, Error> {
    let text = user_memory::copy_string(process.space(), pointer, length, MAX_PATH)?;
    Ok(match text.starts_with('/') {
        true => text,
        false => alloc::format!("/{text}"),
    })
}

fn run(call: Syscall, [a0, a1, a2, a3, _]: [u64; 5]) -> Step {
    let result = match call {
        Syscall::Exit => return Step::Exit(a0),
        Syscall::Yield => return Step::Yield,
        Syscall::Sleep => return Step::Sleep(interrupts::now_ns().saturating_add(a0)),
        Syscall::GetPid => current(|pid, _| Ok(pid)),
        Syscall::Clock => Ok(interrupts::now_ns()),
        Syscall::Write => write(a0, a1, a2),
        Syscall::Read => return read(a0, a1, a2),
        Syscall::Brk => current(|_, process| brk(process, a0)),
        Syscall::Open => current(|_, p| {
            let path = path(p, a0, a1)?;
            files::open(&mut p.files, &path, a2)
        }),
        Syscall::Close => current(|_, p| files::close(&mut p.files, a0).map(|()| 0)),
        Syscall::Unlink => current(|_, p| path(p, a0, a1))
            .and_then(|p| files::unlink(&p))
            .map(|()| 0),
        Syscall::Mkdir => current(|_, p| path(p, a0, a1))
            .and_then(|p| files::mkdir(&p))
            .map(|()| 0),
        Syscall::List => list(a0, a1, a2, a3),
        Syscall::Spawn => spawn(a0, a1, a2, a3),
        Syscall::Wait => return wait(a0),
    };
    Step::Return(result)
}

fn write(fd: u64, pointer: u64, length: u64) -> Result<u64, Error> {
    let length = usize::try_from(length).map_err(|_| Error::InvalidArgument)?;
    let length = length.min(MAX_TRANSFER);
    current(|_, process| {
        let bytes = user_memory::copy_in(process.space(), pointer, length)?;
        match fd {
            1 | 2 => {
                console::write(&bytes);
                Ok(bytes.len() as u64)
            }
            _ => files::write(&mut process.files, fd, &bytes).map(|n| n as u64),
        }
    })
}

fn read(fd: u64, pointer: u64, length: u64) -> Step {
    let length = usize::try_from(length)
        .unwrap_or(usize::MAX)
        .min(MAX_TRANSFER);
    let result = current(|_, process| {
        let space = process.space();
        // Checked before anything is consumed.
        user_memory::check(space, pointer, length, true)?;
        let bytes = match fd {
            0 => {
                let mut buffer = alloc::vec![0u8; length];
                let count = console::read(&mut buffer);
                // Waits for input, unless none can come (end of file).
                if count == 0 && length > 0 && console::input_possible() {
                    return Ok(None);
                }
                buffer.truncate(count);
                buffer
            }
            _ => files::read(&mut process.files, fd, length)?,
        };
        user_memory::copy_out(process.space(), pointer, &bytes)?;
        Ok(Some(bytes.len() as u64))
    });
    match result {
        Ok(None) => Step::Retry(Wait::Console),
        Ok(Some(count)) => Step::Return(Ok(count)),
        Err(error) => Step::Return(Err(error)),
    }
}

/// Moves the break to `end` (0: reports it), mapping or freeing pages.
fn brk(process: &mut Process, end: u64) -> Result<u64, Error> {
    if end == 0 {
        return Ok(process.break_end);
    }
    let limit = (process.break_start + MAX_HEAP).min(IMAGE_TOP);
    if end < process.break_start || end > limit {
        return Err(Error::InvalidArgument);
    }
    let mapped = process.break_end.next_multiple_of(PAGE);
    let wanted = end.next_multiple_of(PAGE);
    let space = process.space.as_mut().ok_or(Error::NoMemory)?;
    let flags = PageFlags::WRITABLE | PageFlags::NO_EXECUTE;
    let mut page = mapped;
    while page < wanted {
        if space.map_new(UserAddress(page), flags).is_err() {
            let mut undo = mapped;
            while undo < page {
                space.unmap(UserAddress(undo));
                undo += PAGE;
            }
            return Err(Error::NoMemory);
        }
        page += PAGE;
    }
    let mut page = wanted;
    while page < mapped {
        space.unmap(UserAddress(page));
        page += PAGE;
    }
    process.break_end = end;
    Ok(end)
}

fn list(pointer: u64, length: u64, buffer: u64, capacity: u64) -> Result<u64, Error> {
    let length_limit = usize::try_from(capacity).map_err(|_| Error::InvalidArgument)?;
    let path = current(|_, process| {
        user_memory::check(process.space(), buffer, length_limit, true)?;
        path(process, pointer, length)
    })?;
    let text = files::list(&path)?;
    if text.len() as u64 > capacity {
        return Err(Error::BufferTooSmall);
    }
    current(|_, process| user_memory::copy_out(process.space(), buffer, text.as_bytes()))?;
    Ok(text.len() as u64)
}

fn spawn(pointer: u64, length: u64, argv: u64, argc: u64) -> Result<u64, Error> {
    if argc > MAX_ARGUMENTS as u64 {
        return Err(Error::InvalidArgument);
    }
    let (parent, program, args) = current(|pid, process| {
        let program = path(process, pointer, length)?;
        let space = process.space();
        let mut args = Vec::new();
        let mut total = 0;
        for index in 0..argc {
            let at = argv
                .checked_add(index * size_of::<Argument>() as u64)
                .ok_or(Error::BadAddress)?;
            let pointer = user_memory::copy_u64(space, at)?;
            let length = user_memory::copy_u64(space, at + 8)?;
            total = length.saturating_add(total);
            if total > MAX_ARGUMENT_BYTES as u64 {
                return Err(Error::InvalidArgument);
            }
            args.push(user_memory::copy_string(
                space,
                pointer,
                length,
                MAX_ARGUMENT_BYTES,
            )?);
        }
        Ok((pid, program, args))
    })?;
    scheduler::spawn(parent, &program, args)
}

fn wait(child: u64) -> Step {
    let result = interrupts::without(|| {
        let mut table = TABLE.lock();
        let Some((pid, _)) = table.running() else {
            return Err(Error::NoChild);
        };
        match table.processes.get(&child) {
            Some(process) if process.parent == pid => {}
            _ => return Err(Error::NoChild),
        }
        Ok(table.reap(child).map(Outcome::status))
    });
    match result {
        Ok(Some(status)) => Step::Return(Ok(status)),
        Ok(None) => Step::Retry(Wait::Child(child)),
        Err(error) => Step::Return(Err(error)),
    }
}
