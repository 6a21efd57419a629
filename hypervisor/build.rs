//! Links the hypervisor binary with its linker script when building for the
//! bare-metal target (host builds of the library, for unit tests, need nothing).

fn main() {
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if target_os == "none" {
        let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
        println!("cargo:rustc-link-arg-bin=hypervisor=-T{dir}/linker.ld");
        println!("cargo:rustc-link-arg-bin=hypervisor=--no-pie");
    }
    println!("cargo:rerun-if-changed=linker.ld");
}
