// Types of the vec0 package (index.js).

/** What load() accepts: a better-sqlite3 Database, or a node:sqlite
 *  DatabaseSync opened with { allowExtension: true }. */
export interface ExtensionLoader {
  loadExtension(file: string, ...rest: any[]): unknown;
  enableLoadExtension?(allow: boolean): unknown;
}

/** The package version; vec_version() returns it with a leading "v". */
export const version: string;

/** The extension load() uses: the one shipped in this package for this
 *  platform, else $VEC0_EXT.  Throws when there is neither. */
export function getLoadablePath(): string;

/** Loads the extension into db and returns db. */
export function load<T extends ExtensionLoader>(db: T, file?: string): T;

/** Numbers a vector can be made of. */
export type Numbers = ArrayLike<number>;

/** A float32 vector BLOB; a Float32Array's own memory is not copied.
 *  Throws on NaN, infinities and numbers beyond float32's range. */
export function serializeF32(vector: Float32Array | Numbers): Buffer;

/** An int8 vector BLOB from an Int8Array (not copied) or integers in -128..127. */
export function serializeInt8(vector: Int8Array | Numbers): Buffer;

/** A bit vector BLOB from truth values, a multiple of 8 of them. */
export function serializeBit(bits: ArrayLike<number | boolean>): Buffer;

/** The float32 vector in a BLOB. */
export function deserializeF32(blob: Uint8Array): Float32Array;

/** The int8 vector in a BLOB (a view of its bytes). */
export function deserializeInt8(blob: Uint8Array): Int8Array;

/** The bits of a bit vector BLOB, as 0 and 1. */
export function deserializeBit(blob: Uint8Array): number[];
