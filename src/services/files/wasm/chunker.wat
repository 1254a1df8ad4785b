;; The content-defined chunker of delta transfers (issue 15), by hand in WebAssembly: the same cut points as
;; cutPoint() in chunker-gear.ts (the JavaScript fallback), about twice as fast.
;;
;; Memory (imported, one per chunking pass): bytes [0, 1024) hold GEAR, 256 little-endian i32 written by the
;; loader; the caller's data lies above. `cut(start, end)` returns where the first chunk of [start, end) ends,
;; exactly as cutPoint(): `end` when the rest is at most MIN bytes, else the first i + 1 in [start + MIN,
;; start + min(len, AVG)) where the gear hash h = (h << 1) + GEAR[byte] has (h & STRICT) == 0, then in
;; [.., start + min(len, MAX)) where (h & LOOSE) == 0, else start + min(len, MAX).
;;
;; The loops take four bytes per step while four are left (the test after each byte stays, so the cut points do
;; not change), then one at a time.
(module
  (import "env" "memory" (memory 1))

  ;; Scans [i, stop) with `mask`; returns the cut (i + 1 of the first byte whose hash passes) or 0 when none
  ;; did, leaving the hash in global $h for the next phase.
  (global $h (mut i32) (i32.const 0))

  (func $scan (param $i i32) (param $stop i32) (param $mask i32) (result i32)
    (local $h i32)
    (local.set $h (global.get $h))
    (block $tail
      (loop $four
        (br_if $tail (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $stop)))
        (local.set $h (i32.add
          (i32.shl (local.get $h) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u offset=0 (local.get $i)) (i32.const 2)))))
        (if (i32.eqz (i32.and (local.get $h) (local.get $mask)))
          (then (return (i32.add (local.get $i) (i32.const 1)))))
        (local.set $h (i32.add
          (i32.shl (local.get $h) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u offset=1 (local.get $i)) (i32.const 2)))))
        (if (i32.eqz (i32.and (local.get $h) (local.get $mask)))
          (then (return (i32.add (local.get $i) (i32.const 2)))))
        (local.set $h (i32.add
          (i32.shl (local.get $h) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u offset=2 (local.get $i)) (i32.const 2)))))
        (if (i32.eqz (i32.and (local.get $h) (local.get $mask)))
          (then (return (i32.add (local.get $i) (i32.const 3)))))
        (local.set $h (i32.add
          (i32.shl (local.get $h) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u offset=3 (local.get $i)) (i32.const 2)))))
        (if (i32.eqz (i32.and (local.get $h) (local.get $mask)))
          (then (return (i32.add (local.get $i) (i32.const 4)))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $four)))
    (block $done
      (loop $one
        (br_if $done (i32.ge_u (local.get $i) (local.get $stop)))
        (local.set $h (i32.add
          (i32.shl (local.get $h) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u offset=0 (local.get $i)) (i32.const 2)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (if (i32.eqz (i32.and (local.get $h) (local.get $mask)))
          (then (return (local.get $i))))
        (br $one)))
    (global.set $h (local.get $h))
    (i32.const 0))

  (func (export "cut") (param $start i32) (param $end i32) (result i32)
    (local $length i32) (local $limit i32) (local $normal i32) (local $at i32)
    (local.set $length (i32.sub (local.get $end) (local.get $start)))
    (if (i32.le_u (local.get $length) (i32.const 16384)) (then (return (local.get $end))))
    (local.set $limit (i32.add (local.get $start)
      (select (local.get $length) (i32.const 262144) (i32.lt_u (local.get $length) (i32.const 262144)))))
    (local.set $normal (i32.add (local.get $start)
      (select (local.get $length) (i32.const 65536) (i32.lt_u (local.get $length) (i32.const 65536)))))
    (global.set $h (i32.const 0))
    (local.set $at (call $scan (i32.add (local.get $start) (i32.const 16384)) (local.get $normal) (i32.const 0xffffc000)))
    (if (local.get $at) (then (return (local.get $at))))
    (local.set $at (call $scan (local.get $normal) (local.get $limit) (i32.const 0xfffc0000)))
    (if (local.get $at) (then (return (local.get $at))))
    (local.get $limit))
)
