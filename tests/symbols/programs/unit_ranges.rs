// The symbolizer's test of objects without .debug_aranges: rustc emits
// none. Prints "object rust ADDRESS", an address 16 bytes into
// rust_function (as a return address would be), then stops itself.
use std::hint::black_box;
use std::process::Command;

#[inline(never)]
fn rust_function(value: u64) -> u64 {
    black_box(value).wrapping_mul(31).wrapping_add(7)
}

fn main() {
    black_box(rust_function(black_box(3)));
    let function: fn(u64) -> u64 = rust_function;
    println!("object rust {:#x}", function as usize + 16);
    println!("ready");
    // std has no raise(); kill(1) stops this process the same way.
    let _ = Command::new("kill").args(["-STOP", &std::process::id().to_string()]).status();
}
