;; XXH3-128 (xxHash 0.8, seed 0, the default secret) of inputs longer than 240 bytes, by hand in WebAssembly SIMD
;; (issue 15): the block hash of a delta put's block list (delta-blocks.ts). xxh128.ts loads it and checks it
;; against hash-wasm's xxhash128 (portable C), which also hashes inputs of 240 bytes or less.
;;
;; Memory is imported (the caller's, so that data read into it is hashed in place); `base`, an imported i32,
;; is where this instance keeps its 208 bytes: the secret (192 bytes, written by the data segment when the
;; instance is made) and the result. `hash(p, len)` hashes bytes [p, p + len) (len > 240) and leaves the result
;; at base + 192 as two little-endian u64: low64, then high64.
;;
;; The eight 64-bit accumulators live in four v128 (lanes 0-1, 2-3, 4-5, 6-7). One 64-byte stripe, per lane i:
;; key = data ^ secret; acc[i ^ 1] += data; acc[i] += lo32(key) * hi32(key). Lanes are paired so that the two
;; shuffles that gather the 32-bit halves of four keys feed two widening multiplies.
(module
  (import "env" "memory" (memory 1))
  (import "env" "base" (global $base i32))

  (data (global.get $base)
    "\b8\fe\6c\39\23\a4\4b\be\7c\01\81\2c\f7\21\ad\1c\de\d4\6d\e9\83\90\97\db\72\40\a4\a4\b7\b3\67\1f"
    "\cb\79\e6\4e\cc\c0\e5\78\82\5a\d0\7d\cc\ff\72\21\b8\08\46\74\f7\43\24\8e\e0\35\90\e6\81\3a\26\4c"
    "\3c\28\52\bb\91\c3\00\cb\88\d0\65\8b\1b\53\2e\a3\71\64\48\97\a2\0d\f9\4e\38\19\ef\46\a9\de\ac\d8"
    "\a8\fa\76\3f\e3\9c\34\3f\f9\dc\bb\c7\c7\0b\4f\1d\8a\51\e0\4b\cd\b4\59\31\c8\9f\7e\c9\d9\78\73\64"
    "\ea\c5\ac\83\34\d3\eb\c3\c5\81\a0\ff\fa\13\63\eb\17\0d\dd\51\b7\f0\da\49\d3\16\55\26\29\d4\68\9e"
    "\2b\16\be\58\7d\47\a1\fc\8f\f8\b8\d1\7a\d0\31\ce\45\cb\3a\8f\95\16\04\28\af\d7\fb\ca\bb\4b\40\7e")

  ;; `n` stripes from `in`, the secret read from `sec` on (8 bytes further per stripe).
  (func $stripes (param $in i32) (param $sec i32) (param $n i32)
        (param $a0 v128) (param $a1 v128) (param $a2 v128) (param $a3 v128) (result v128 v128 v128 v128)
    (local $d0 v128) (local $d1 v128) (local $k0 v128) (local $k1 v128) (local $lo v128) (local $hi v128)
    (block $done (loop $stripe
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $d0 (v128.load (local.get $in)))
      (local.set $d1 (v128.load offset=16 (local.get $in)))
      (local.set $k0 (v128.xor (local.get $d0) (v128.load (local.get $sec))))
      (local.set $k1 (v128.xor (local.get $d1) (v128.load offset=16 (local.get $sec))))
      (local.set $lo (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $k0) (local.get $k1)))
      (local.set $hi (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $k0) (local.get $k1)))
      (local.set $a0 (i64x2.add (local.get $a0) (i64x2.add
        (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $d0) (local.get $d0))
        (i64x2.extmul_low_i32x4_u (local.get $lo) (local.get $hi)))))
      (local.set $a1 (i64x2.add (local.get $a1) (i64x2.add
        (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $d1) (local.get $d1))
        (i64x2.extmul_high_i32x4_u (local.get $lo) (local.get $hi)))))
      (local.set $d0 (v128.load offset=32 (local.get $in)))
      (local.set $d1 (v128.load offset=48 (local.get $in)))
      (local.set $k0 (v128.xor (local.get $d0) (v128.load offset=32 (local.get $sec))))
      (local.set $k1 (v128.xor (local.get $d1) (v128.load offset=48 (local.get $sec))))
      (local.set $lo (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $k0) (local.get $k1)))
      (local.set $hi (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $k0) (local.get $k1)))
      (local.set $a2 (i64x2.add (local.get $a2) (i64x2.add
        (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $d0) (local.get $d0))
        (i64x2.extmul_low_i32x4_u (local.get $lo) (local.get $hi)))))
      (local.set $a3 (i64x2.add (local.get $a3) (i64x2.add
        (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $d1) (local.get $d1))
        (i64x2.extmul_high_i32x4_u (local.get $lo) (local.get $hi)))))
      (local.set $in (i32.add (local.get $in) (i32.const 64)))
      (local.set $sec (i32.add (local.get $sec) (i32.const 8)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $stripe)))
    (local.get $a0) (local.get $a1) (local.get $a2) (local.get $a3))

  ;; The 128-bit product of a and b, its halves xored.
  (func $mulFold (param $a i64) (param $b i64) (result i64)
    (local $a0 i64) (local $a1 i64) (local $b0 i64) (local $b1 i64) (local $p00 i64) (local $p10 i64) (local $cross i64)
    (local.set $a0 (i64.and (local.get $a) (i64.const 0xffffffff)))
    (local.set $a1 (i64.shr_u (local.get $a) (i64.const 32)))
    (local.set $b0 (i64.and (local.get $b) (i64.const 0xffffffff)))
    (local.set $b1 (i64.shr_u (local.get $b) (i64.const 32)))
    (local.set $p00 (i64.mul (local.get $a0) (local.get $b0)))
    (local.set $p10 (i64.mul (local.get $a1) (local.get $b0)))
    (local.set $cross (i64.add (i64.add
      (i64.shr_u (local.get $p00) (i64.const 32))
      (i64.and (local.get $p10) (i64.const 0xffffffff)))
      (i64.mul (local.get $a0) (local.get $b1))))
    (i64.xor
      ;; low 64 bits
      (i64.or (i64.shl (local.get $cross) (i64.const 32)) (i64.and (local.get $p00) (i64.const 0xffffffff)))
      ;; high 64 bits
      (i64.add (i64.add (i64.shr_u (local.get $p10) (i64.const 32)) (i64.shr_u (local.get $cross) (i64.const 32)))
        (i64.mul (local.get $a1) (local.get $b1)))))

  ;; XXH3's mergeAccs: start + the folded products of the accumulator pairs with 64 bytes of secret from `sec`,
  ;; then avalanched.
  (func $merge (param $a0 v128) (param $a1 v128) (param $a2 v128) (param $a3 v128) (param $sec i32) (param $start i64) (result i64)
    (local $h i64)
    (local.set $a0 (v128.xor (local.get $a0) (v128.load (local.get $sec))))
    (local.set $a1 (v128.xor (local.get $a1) (v128.load offset=16 (local.get $sec))))
    (local.set $a2 (v128.xor (local.get $a2) (v128.load offset=32 (local.get $sec))))
    (local.set $a3 (v128.xor (local.get $a3) (v128.load offset=48 (local.get $sec))))
    (local.set $h (i64.add (local.get $start) (call $mulFold (i64x2.extract_lane 0 (local.get $a0)) (i64x2.extract_lane 1 (local.get $a0)))))
    (local.set $h (i64.add (local.get $h) (call $mulFold (i64x2.extract_lane 0 (local.get $a1)) (i64x2.extract_lane 1 (local.get $a1)))))
    (local.set $h (i64.add (local.get $h) (call $mulFold (i64x2.extract_lane 0 (local.get $a2)) (i64x2.extract_lane 1 (local.get $a2)))))
    (local.set $h (i64.add (local.get $h) (call $mulFold (i64x2.extract_lane 0 (local.get $a3)) (i64x2.extract_lane 1 (local.get $a3)))))
    ;; avalanche
    (local.set $h (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 37))))
    (local.set $h (i64.mul (local.get $h) (i64.const 0x165667919E3779F9)))
    (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 32))))

  (func (export "hash") (param $p i32) (param $len i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $blocks i32) (local $sec i32) (local $len64 i64)
    (local $prime v128)
    (local.set $prime (i64x2.splat (i64.const 0x9E3779B1)))
    (local.set $sec (global.get $base))
    (local.set $len64 (i64.extend_i32_u (local.get $len)))
    ;; XXH3_INIT_ACC: PRIME32_3, PRIME64_1, PRIME64_2, PRIME64_3, PRIME64_4, PRIME32_2, PRIME64_5, PRIME32_1
    (local.set $a0 (v128.const i64x2 0xC2B2AE3D 0x9E3779B185EBCA87))
    (local.set $a1 (v128.const i64x2 0xC2B2AE3D27D4EB4F 0x165667B19E3779F9))
    (local.set $a2 (v128.const i64x2 0x85EBCA77C2B2AE63 0x85EBCA77))
    (local.set $a3 (v128.const i64x2 0x27D4EB2F165667C5 0x9E3779B1))
    ;; Whole blocks of 16 stripes (1 KiB), each followed by a scramble with the secret's last 64 bytes.
    (local.set $blocks (i32.div_u (i32.sub (local.get $len) (i32.const 1)) (i32.const 1024)))
    (block $done (loop $block
      (br_if $done (i32.eqz (local.get $blocks)))
      (call $stripes (local.get $p) (local.get $sec) (i32.const 16) (local.get $a0) (local.get $a1) (local.get $a2) (local.get $a3))
      (local.set $a3) (local.set $a2) (local.set $a1) (local.set $a0)
      ;; The scramble, written out (a call per vector cost a tenth of the hash): acc ^= acc >> 47; acc ^= key;
      ;; acc *= PRIME32_1.
      (local.set $a0 (i64x2.mul (v128.xor (v128.xor (local.get $a0) (i64x2.shr_u (local.get $a0) (i32.const 47))) (v128.load offset=128 (local.get $sec))) (local.get $prime)))
      (local.set $a1 (i64x2.mul (v128.xor (v128.xor (local.get $a1) (i64x2.shr_u (local.get $a1) (i32.const 47))) (v128.load offset=144 (local.get $sec))) (local.get $prime)))
      (local.set $a2 (i64x2.mul (v128.xor (v128.xor (local.get $a2) (i64x2.shr_u (local.get $a2) (i32.const 47))) (v128.load offset=160 (local.get $sec))) (local.get $prime)))
      (local.set $a3 (i64x2.mul (v128.xor (v128.xor (local.get $a3) (i64x2.shr_u (local.get $a3) (i32.const 47))) (v128.load offset=176 (local.get $sec))) (local.get $prime)))
      (local.set $p (i32.add (local.get $p) (i32.const 1024)))
      (local.set $len (i32.sub (local.get $len) (i32.const 1024)))
      (local.set $blocks (i32.sub (local.get $blocks) (i32.const 1)))
      (br $block)))
    ;; The last partial block's whole stripes (of its first len - 1 bytes), then the input's last 64 bytes with the
    ;; secret from byte 121.
    (call $stripes (local.get $p) (local.get $sec) (i32.div_u (i32.sub (local.get $len) (i32.const 1)) (i32.const 64))
      (local.get $a0) (local.get $a1) (local.get $a2) (local.get $a3))
    (local.set $a3) (local.set $a2) (local.set $a1) (local.set $a0)
    (call $stripes (i32.sub (i32.add (local.get $p) (local.get $len)) (i32.const 64)) (i32.add (local.get $sec) (i32.const 121)) (i32.const 1)
      (local.get $a0) (local.get $a1) (local.get $a2) (local.get $a3))
    (local.set $a3) (local.set $a2) (local.set $a1) (local.set $a0)
    (i64.store offset=192 (local.get $sec)
      (call $merge (local.get $a0) (local.get $a1) (local.get $a2) (local.get $a3) (i32.add (local.get $sec) (i32.const 11))
        (i64.mul (local.get $len64) (i64.const 0x9E3779B185EBCA87))))
    (i64.store offset=200 (local.get $sec)
      (call $merge (local.get $a0) (local.get $a1) (local.get $a2) (local.get $a3) (i32.add (local.get $sec) (i32.const 117))
        (i64.xor (i64.mul (local.get $len64) (i64.const 0xC2B2AE3D27D4EB4F)) (i64.const -1)))))
)
