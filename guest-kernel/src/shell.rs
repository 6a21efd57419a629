//! The guest's shell on the split console: a prompt, line editing
//! (backspace), and a few commands. End of input (Ctrl-D on an empty line)
//! ends the domain cleanly, so a piped script can drive it.

use alloc::string::String;
use alloc::vec;

use crate::fs::disk::VirtualDisk;
use crate::fs::error::FsError;
use crate::fs::volume::Volume;

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

/// Reports the bytes of the guest's page tables (the hypervisor reports
/// its shadow of them as the domain ends) and ends the domain.
fn finish() -> ! {
    use crate::memory::{paging, table_bytes};
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
            console::wait_for_input();
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

/// The virtual disk and the filesystem mounted from it, if any.
pub struct Disk {
    sectors: u64,
    volume: Option<Volume>,
}

/// Bytes read from a file per step of `cat` and `sum`.
const CHUNK: usize = 16 * 1024;

/// Brings up the block driver and mounts the disk's filesystem, if there
/// is a disk; says what it found in one line.
pub fn mount_disk() -> Option<Disk> {
    let sectors = crate::drivers::block::init().ok()?;
    let volume = match VirtualDisk::new(sectors)
        .map_err(FsError::from)
        .and_then(Volume::mount)
    {
        Ok(volume) => {
            println!(
                "disk: {sectors} sectors, {} filesystem mounted",
                volume.geometry().kind
            );
            Some(volume)
        }
        Err(error) => {
            println!("disk: {sectors} sectors, not mounted: {error}");
            None
        }
    };
    Some(Disk { sectors, volume })
}

fn absolute(path: &str) -> String {
    match path.starts_with('/') {
        true => path.into(),
        false => alloc::format!("/{path}"),
    }
}

fn list(volume: &Volume, path: &str) {
    match volume.list(path) {
        Ok(entries) => {
            for entry in entries {
                println!("{}{}", entry.name, if entry.directory { "/" } else { "" });
            }
        }
        Err(error) => println!("{path}: {error}"),
    }
}

/// Streams the file at `path` to the console (`cat`) or through FNV-1a
/// (`sum`), a chunk at a time, so any size can be read.
fn read(volume: &Volume, path: &str, print: bool) {
    let result = volume.open(path).and_then(|mut file| {
        let mut chunk = vec![0u8; CHUNK];
        let mut hash = crate::checksum::Fnv1a::new();
        let mut total = 0u64;
        loop {
            let count = file.read(&mut chunk).inspect_err(|_| {
                // Whatever was printed ends its line before the error's.
                if print && total > 0 {
                    println!();
                }
            })?;
            if count == 0 {
                return Ok((hash, total));
            }
            total += count as u64;
            match print {
                true => console::write(&chunk[..count]),
                false => hash.update(&chunk[..count]),
            }
        }
    });
    match result {
        Ok((hash, total)) if !print => {
            println!("fnv1a {:016x} {total} bytes {path}", hash.value())
        }
        Ok(_) => {}
        Err(error) => println!("{path}: {error}"),
    }
}

fn files(disk: Option<&Disk>, command: &str, path: &str) {
    let Some(volume) = disk.and_then(|disk| disk.volume.as_ref()) else {
        println!("no filesystem");
        return;
    };
    let path = absolute(path);
    match command {
        "ls" => list(volume, &path),
        "cat" => read(volume, &path, true),
        _ => read(volume, &path, false),
    }
}

fn volume(disk: Option<&Disk>) -> Option<&Volume> {
    disk.and_then(|disk| disk.volume.as_ref())
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
            println!("  ls [PATH]   list a directory of the disk's filesystem");
            println!("  cat PATH    print a file");
            println!("  sum PATH    FNV-1a checksum of a file");
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
        "disk" => match disk {
            Some(Disk {
                sectors,
                volume: Some(volume),
            }) => {
                let geometry = volume.geometry();
                println!(
                    "disk: {sectors} sectors, {}: {} blocks of {} bytes in {} groups",
                    geometry.kind, geometry.blocks, geometry.block_size, geometry.groups
                );
            }
            Some(Disk { sectors, .. }) => println!("disk: {sectors} sectors, no filesystem"),
            None => println!("no disk"),
        },
        "ls" | "cat" | "sum" => files(disk, command, rest.trim()),
        "shutdown" => {
            println!("bye");
            finish();
        }
        other if crate::programs::is_program(volume(disk), other) => {
            crate::programs::run(volume(disk), line)
        }
        other => println!("unknown command '{other}' (try 'help')"),
    }
}
