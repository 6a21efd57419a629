//! The guest's shell on the split console: a prompt, line editing
//! (backspace), and a few commands. End of input (Ctrl-D on an empty line)
//! ends the domain cleanly, so a piped script can drive it.

use alloc::string::String;

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
        "shutdown" => {
            println!("bye");
            finish();
        }
        other => println!("unknown command '{other}' (try 'help')"),
    }
}
