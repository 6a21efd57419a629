//! The guest's shell on the split console: a prompt, line editing
//! (backspace), and a few commands. End of input (Ctrl-D on an empty line)
//! ends the domain cleanly, so a piped script can drive it.

use alloc::string::String;
use core::sync::atomic::{AtomicU64, Ordering};

use spin::Once;

use crate::fs::ext2::Ext2;

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
pub fn run(name: &str) -> ! {
    println!("shell ready: type 'help'");
    loop {
        print!("{name}> ");
        match read_line() {
            Line::EndOfInput => {
                println!();
                println!("end of input: shutting down");
                finish();
            }
            Line::Text(line) => execute(line.trim()),
        }
    }
}

fn finish() -> ! {
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

static FILESYSTEM: Once<Ext2> = Once::new();
static DISK_SECTORS: AtomicU64 = AtomicU64::new(0);

/// Brings up the block driver and mounts the disk's ext2 filesystem, if
/// there is a disk.
pub fn mount_disk() {
    if let Ok(sectors) = crate::drivers::block::init() {
        DISK_SECTORS.store(sectors, Ordering::Relaxed);
        match Ext2::mount() {
            Ok(fs) => {
                FILESYSTEM.call_once(|| fs);
                println!("disk: {sectors} sectors, ext2 filesystem mounted");
            }
            Err(error) => println!("disk: {sectors} sectors, no ext2 filesystem ({error:?})"),
        }
    }
}

fn files(command: &str, path: &str) {
    let Some(fs) = FILESYSTEM.get() else {
        println!("no filesystem");
        return;
    };
    let path = if path.is_empty() { "/" } else { path };
    let inode = match fs.lookup(path) {
        Ok(inode) => inode,
        Err(error) => {
            println!("{path}: {error:?}");
            return;
        }
    };
    match command {
        "ls" => match fs.read_dir(&inode) {
            Ok(mut entries) => {
                entries.sort();
                for (name, _, directory) in entries.iter().filter(|(n, _, _)| n != "." && n != "..")
                {
                    println!("{name}{}", if *directory { "/" } else { "" });
                }
            }
            Err(error) => println!("{path}: {error:?}"),
        },
        _ => match fs.read_file(&inode) {
            Ok(data) if command == "cat" => crate::drivers::console::write(&data),
            Ok(data) => {
                let mut hash = crate::checksum::Fnv1a::new();
                hash.update(&data);
                println!("fnv1a {:016x} {} bytes {path}", hash.value(), data.len());
            }
            Err(error) => println!("{path}: {error:?}"),
        },
    }
}

fn execute(line: &str) {
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
            println!("  ls [PATH]   list a directory of the disk's ext2 filesystem");
            println!("  cat PATH    print a file");
            println!("  sum PATH    FNV-1a checksum of a file");
            println!("  shutdown    end this domain");
        }
        "echo" => println!("{}", rest.trim()),
        "uptime" => {
            let ns = now_ns();
            println!("up {}.{:03} s", ns / 1_000_000_000, ns / 1_000_000 % 1000);
        }
        "mem" => {
            let info = crate::scenario::start_info();
            println!(
                "{} KiB of {} KiB allocated by the kernel",
                frames::in_use() * 4,
                info.memory_bytes / 1024
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
        "disk" => match FILESYSTEM.get() {
            Some(_) => println!(
                "disk: {} sectors, ext2 mounted",
                DISK_SECTORS.load(Ordering::Relaxed)
            ),
            None => println!("no disk (or no ext2 filesystem on it)"),
        },
        "ls" | "cat" | "sum" => files(command, rest.trim()),
        "shutdown" => {
            println!("bye");
            finish();
        }
        other => println!("unknown command '{other}' (try 'help')"),
    }
}
