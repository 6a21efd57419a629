//! Checks that an open file cannot be unlinked (`held PATH`): creates
//! PATH, tries to remove it while its descriptor is open (the kernel must
//! answer `Busy`: freeing the inode under the descriptor would let it
//! write into whatever file gets that inode next), closes it and removes
//! it. Prints each answer; exits 0 when they are the expected ones.
#![no_std]
#![no_main]

use user::{Args, Error, eprintln, open_flags, println, sys};

user::entry!(main);

fn main(args: Args) -> u64 {
    let Some(path) = args.get(1) else {
        eprintln!("usage: held PATH");
        return 2;
    };
    let fd = match sys::open(path, open_flags::WRITE | open_flags::CREATE) {
        Ok(fd) => fd,
        Err(error) => {
            eprintln!("held: {path}: {}", error.name());
            return 1;
        }
    };
    let name = |result: Result<(), Error>| result.map_or_else(Error::name, |()| "removed");
    let while_open = sys::unlink(path);
    println!("held: unlink while open: {}", name(while_open));
    let closed = sys::close(fd);
    let after_close = sys::unlink(path);
    println!("held: unlink after close: {}", name(after_close));
    match (while_open, closed, after_close) {
        (Err(Error::Busy), Ok(()), Ok(())) => 0,
        _ => 1,
    }
}
