/*
** vec0_elem.c: the element types, one descriptor each (Vec0ElemDesc in
** vec0_vec.h): name, subtype, size, how an element reads and writes as a
** double, and its portable kernels.  The parser (vec0_vector.c), the SQL
** functions (vec0_func.c) and the kernel dispatch (vec0_distance.c) ask
** this table instead of switching on the type, so a new element type is a
** row of aElem[] plus its kernels (docs/architecture.md says what else).
** Below the dispatch and above the portable kernels, whose getters the rows
** name; calls nothing else, includes only vec0_vec.h.
*/
#include "vec0_vec.h"

#include <string.h>

/*
** Elements are read with memcpy: a vector's bytes are aligned for float
** whenever the parser hands them out, but an element reader need not rely
** on it, and the compiler turns the copy into a plain load.
*/
static double f32Get(const void *p, int i) {
  float f;
  memcpy(&f, (const unsigned char *)p + (size_t)i * 4, 4);
  return f;
}
static void f32Set(void *p, int i, double v) {
  float f = (float)v;
  memcpy((unsigned char *)p + (size_t)i * 4, &f, 4);
}

static double i8Get(const void *p, int i) {
  return ((const int8_t *)p)[i];
}
/* Two's complement wrap-around, as sqlite-vec's int8 vec_add does. */
static void i8Set(void *p, int i, double v) {
  ((int8_t *)p)[i] = (int8_t)(uint8_t)((unsigned)(int)v & 0xffu);
}

/* Dimension i of a bit vector is bit (i & 7) of byte i >> 3. */
static double bitGet(const void *p, int i) {
  return (((const unsigned char *)p)[i >> 3] >> (i & 7)) & 1;
}
static void bitSet(void *p, int i, double v) {
  unsigned char *a = (unsigned char *)p + (i >> 3);
  unsigned char m = (unsigned char)(1u << (i & 7));
  /* a set, not a number: any non-zero value sets the bit */
  *a = (unsigned char)(v != 0 ? (*a | m) : (*a & ~m));
}

static const Vec0ElemDesc aElem[] = {
    {VEC0_ELEM_F32, "float32", "a float32", VEC0_SUBTYPE_F32, 32, 0, f32Get, f32Set,
     vec0DistanceF32Portable},
    {VEC0_ELEM_I8, "int8", "an int8", VEC0_SUBTYPE_I8, 8, 1, i8Get, i8Set,
     vec0DistanceI8Portable},
    {VEC0_ELEM_BIT, "bit", "a bit", VEC0_SUBTYPE_BIT, 1, 1, bitGet, bitSet,
     vec0DistanceBitPortable},
};
#define N_ELEM ((int)(sizeof(aElem) / sizeof(aElem[0])))

const Vec0ElemDesc *vec0ElemAt(int i) {
  return i >= 0 && i < N_ELEM ? &aElem[i] : 0;
}

const Vec0ElemDesc *vec0ElemDesc(Vec0ElemType eType) {
  int i;
  for (i = 0; i < N_ELEM; i++) {
    if (aElem[i].eType == eType) return &aElem[i];
  }
  return 0;
}

const Vec0ElemDesc *vec0ElemBySubtype(unsigned int st) {
  int i;
  for (i = 0; i < N_ELEM; i++) {
    if ((unsigned int)aElem[i].subtype == st) return &aElem[i];
  }
  return 0;
}

size_t vec0ElemBytes(Vec0ElemType eType, int nDim) {
  const Vec0ElemDesc *d = vec0ElemDesc(eType);
  if (d == 0 || nDim <= 0) return 0;
  return ((size_t)nDim * (size_t)d->nBits + 7) / 8;
}

const char *vec0ElemName(Vec0ElemType eType) {
  const Vec0ElemDesc *d = vec0ElemDesc(eType);
  return d ? d->zName : "unknown";
}

int vec0ElemSubtype(Vec0ElemType eType) {
  const Vec0ElemDesc *d = vec0ElemDesc(eType);
  return d ? d->subtype : 0;
}
