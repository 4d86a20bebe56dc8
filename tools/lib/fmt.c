/* SPDX-License-Identifier: MIT */
#include "fmt.h"

#include <string.h>

#include <zinc/ring.h>

void zf_json_str(FILE *o, const char *s)
{
    fputc('"', o);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(o, "\\%c", c);
        else if (c < 0x20)
            fprintf(o, "\\u%04x", c);
        else
            fputc(c, o);
    }
    fputc('"', o);
}

const char *zf_fourcc(uint32_t f, char buf[8])
{
    static const struct {
        uint32_t code;
        const char *name;
    } known[] = {
        {ZINC_FOURCC_RAW, "raw"},     {ZINC_FOURCC_GREY, "GREY"},
        {ZINC_FOURCC_RGB24, "RGB24"}, {ZINC_FOURCC_RGBA32, "RGBA32"},
        {ZINC_FOURCC_NV12, "NV12"},   {ZINC_FOURCC_PC32F, "PC32F"},
    };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (f == known[i].code)
            return strcpy(buf, known[i].name);
    for (int i = 0; i < 4; i++) {
        char c = (char)((f >> (8 * i)) & 0xff);
        buf[i] = (c >= 0x20 && c < 0x7f) ? c : '?';
    }
    buf[4] = 0;
    return buf;
}
