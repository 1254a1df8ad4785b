;; The scan of a delta put in blocks (issue 15), by hand in WebAssembly: rollToCandidate() in delta-roller.ts (the
;; JavaScript reference and fallback), with the same result.
;;
;; Memory (imported, one per search): bytes [0, 1024) hold GEAR, 256 little-endian i32 written by the loader;
;; [1024, 1024 + 2 MiB) the receiver's fingerprints as a bit table (fingerprint p sets bit (p >>> 8) & 31 of the
;; i32 at 1024 + (p >>> 13) * 4); above them 256 bytes for the block hasher (wasm/xxh128.wat, over the same
;; memory), then the caller's data. `roll(i, stop, stride)` rolls the fingerprint
;; p = (p << 1) + GEAR[byte] (32-bit) from the value `setPrint` left over bytes [i, stop), looking p up after every
;; `stride` bytes (after bytes i + stride - 1, i + 2 * stride - 1, ...); it returns the index just past the byte
;; after which p's bit was found set, or `stop` (the bytes after the last look-up are rolled too). `getPrint` then
;; gives p.
(module
  (import "env" "memory" (memory 1))
  (global $print (mut i32) (i32.const 0))

  (func (export "setPrint") (param $p i32) (global.set $print (local.get $p)))
  (func (export "getPrint") (result i32) (global.get $print))

  (func (export "roll") (param $i i32) (param $stop i32) (param $stride i32) (result i32)
    (local $p i32) (local $next i32)
    (local.set $p (global.get $print))
    (block $done
      (loop $look
        (local.set $next (i32.add (local.get $i) (local.get $stride)))
        (br_if $done (i32.gt_u (local.get $next) (local.get $stop)))
        (loop $byte
          (local.set $p (i32.add
            (i32.shl (local.get $p) (i32.const 1))
            (i32.load (i32.shl (i32.load8_u (local.get $i)) (i32.const 2)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $byte (i32.lt_u (local.get $i) (local.get $next))))
        (if (i32.and
              (i32.load offset=1024 (i32.shl (i32.shr_u (local.get $p) (i32.const 13)) (i32.const 2)))
              (i32.shl (i32.const 1) (i32.shr_u (local.get $p) (i32.const 8))))
          (then
            (global.set $print (local.get $p))
            (return (local.get $i))))
        (br $look)))
    ;; Fewer than `stride` bytes are left: rolled, not looked up.
    (block $rest
      (loop $byte
        (br_if $rest (i32.ge_u (local.get $i) (local.get $stop)))
        (local.set $p (i32.add
          (i32.shl (local.get $p) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u (local.get $i)) (i32.const 2)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $byte)))
    (global.set $print (local.get $p))
    (local.get $stop))
)
