//! Links every program as a static executable at the guest kernel's user
//! base (1 GiB), below which its own image lies.

fn main() {
    println!("cargo:rustc-link-arg-bins=--image-base=0x40000000");
    println!("cargo:rustc-link-arg-bins=-znoexecstack");
    println!("cargo:rerun-if-changed=build.rs");
}
