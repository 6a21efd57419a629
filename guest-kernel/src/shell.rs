//! The guest's shell on the split console: a prompt, line editing
//! (backspace), and a few commands; the file commands are in
//! [`crate::shell_files`]. End of input (Ctrl-D on an empty line) ends the
//! domain cleanly (the filesystem synced first, as `shutdown` does), so a
//! piped script can drive it.

use alloc::string::String;

use crate::fs::disk::VirtualDisk;
use crate::fs::error::FsError;
use crate::fs::volume::Volume;
use crate::shell_files;

use crate::drivers::console;
use crate::interrupts::now_ns;
use crate::memory::frames;
use crate::{print, println, threads, timer};

const END_OF_INPUT: u8 = 0x04;
const BACKSPACE: u8 = 0x08;
const DELETE: u8 = 0x7f;

/// Why reading a line ended.
enum Line {
    Text(String),
    EndOfInput,
}

/// Runs the shell until `shutdown` or end of input; never returns.
pub fn run(name: &str, disk: Option<Disk>) -> ! {
    println!("shell ready: type 'help'");
    loop {
        print!("{name}> ");
        match read_line() {
            Line::EndOfInput => {
                println!();
                println!("end of input: shutting down");
                finish();
            }
            Line::Text(line) => execute(line.trim(), disk.as_ref()),
        }
    }
}

/// Syncs the filesystem, closes the disk's connection to its backend,
/// reports the bytes of the guest's page tables (the hypervisor reports its
/// shadow of them as the domain ends) and ends the domain.
fn finish() -> ! {
    use crate::drivers::block::{self, BlockError};
    use crate::memory::{paging, table_bytes};
    shell_files::sync_before_shutdown();
    match block::close() {
        Ok(()) | Err(BlockError::NoDisk) => {}
        Err(error) => println!("disk: closing: {error:?}"),
    }
    println!(
        "page tables: {} bytes",
        table_bytes(&[paging::current_root()])
    );
    crate::scenario::exit(0)
}

fn read_line() -> Line {
    let mut line = String::new();
    let mut byte = [0u8; 1];
    loop {
        if console::read(&mut byte) == 0 {
            // No more console input can come (no console server): the line
            // so far, then the end of input.
            if !console::wait_for_input() {
                return match line.is_empty() {
                    true => Line::EndOfInput,
                    false => Line::Text(line),
                };
            }
            continue;
        }
        match byte[0] {
            b'\r' | b'\n' => {
                println!();
                return Line::Text(line);
            }
            END_OF_INPUT if line.is_empty() => return Line::EndOfInput,
            BACKSPACE | DELETE if line.pop().is_some() => console::write(&[BACKSPACE]),
            b'\t' => {
                line.push(' ');
                console::write(b" ");
            }
            byte @ 0x20..=0x7e => {
                line.push(byte as char);
                console::write(&[byte]);
            }
            _ => {}
        }
    }
}

/// The virtual disk (its filesystem, if mounted, is [`crate::fs::volume`]).
pub struct Disk {
    sectors: u64,
}

/// Brings up the block driver and mounts the disk's filesystem, if there
/// is a disk, as the kernel's volume; says what it found in one line (and
/// why, when there is a disk region but no backend serves it).
pub fn mount_disk() -> Option<Disk> {
    use crate::drivers::block::{self, BlockError};
    let sectors = match block::init() {
        Ok(sectors) => sectors,
        Err(BlockError::NoDisk) => return None,
        Err(BlockError::NoBackend) => {
            println!("disk: no block backend answered (no driver domain serves the disk)");
            return None;
        }
        Err(BlockError::Refused) => {
            println!("disk: the block backend refused this domain's region");
            return None;
        }
        Err(error) => {
            println!("disk: not connected: {error:?}");
            return None;
        }
    };
    match VirtualDisk::new(sectors)
        .map_err(FsError::from)
        .and_then(Volume::mount)
    {
        Ok(volume) => {
            println!(
                "disk: {sectors} sectors, {} filesystem mounted",
                volume.geometry().kind
            );
            if !crate::fs::install(volume) {
                println!("disk: a filesystem is already mounted; this one is dropped");
            }
        }
        Err(error) => println!("disk: {sectors} sectors, not mounted: {error}"),
    };
    Some(Disk { sectors })
}

fn execute(line: &str, disk: Option<&Disk>) {
    let (command, rest) = line.split_once(' ').unwrap_or((line, ""));
    match command {
        "" => {}
        "help" => {
            println!("commands:");
            println!("  help        this list");
            println!("  echo TEXT   print TEXT");
            println!("  uptime      virtual time since this domain started");
            println!("  mem         guest-physical memory in use");
            println!("  ticks       timer ticks so far");
            println!("  threads     kernel threads");
            println!("  disk        the virtual disk");
            shell_files::help();
            println!("  shutdown    end this domain");
            println!("  PROGRAM [ARGS]  run /bin/PROGRAM (or a path) as a process");
        }
        "echo" => println!("{}", rest.trim()),
        "uptime" => {
            let ns = now_ns();
            println!("up {}.{:03} s", ns / 1_000_000_000, ns / 1_000_000 % 1000);
        }
        "mem" => {
            let info = crate::scenario::start_info();
            println!(
                "{} KiB of {} KiB allocated by the kernel; heap of {} KiB",
                frames::in_use() * 4,
                info.memory_bytes / 1024,
                crate::memory::heap::size() / 1024
            );
        }
        "ticks" => println!(
            "{} ticks of {} ms",
            timer::ticks(),
            timer::TICK_NS / 1_000_000
        ),
        "threads" => {
            let (live, finished) = threads::count();
            println!("{live} threads, {finished} finished");
        }
        "disk" => match (disk, crate::fs::volume()) {
            (Some(Disk { sectors }), Some(volume)) => {
                let geometry = volume.geometry();
                println!(
                    "disk: {sectors} sectors, {}: {} blocks of {} bytes in {} groups",
                    geometry.kind, geometry.blocks, geometry.block_size, geometry.groups
                );
                if let Some(features) = volume.read_only() {
                    println!("disk: read-only (this kernel does not write {features})");
                }
            }
            (Some(Disk { sectors }), None) => println!("disk: {sectors} sectors, no filesystem"),
            (None, _) => println!("no disk"),
        },
        command if shell_files::handles(command) => shell_files::execute(command, rest),
        "shutdown" => {
            println!("bye");
            finish();
        }
        other if crate::programs::is_program(other) => crate::programs::run(line),
        other => println!("unknown command '{other}' (try 'help')"),
    }
}
