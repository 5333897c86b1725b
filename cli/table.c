/*  cli/table.c - aligned text tables (see table.h). */
#include "table.h"

#include <stdlib.h>
#include <string.h>

void cli_table_init (cli_table_t *table, size_t columns)
{
    memset (table, 0, sizeof *table);
    table->columns = columns;
}

//  Frees ROW, a NULL-terminated array of malloc'ed cells.
static void row_free (char **row)
{
    for (size_t c = 0; row && row[c]; c++)
        free (row[c]);
    free (row);
}

//  Makes room for one more row; returns 0 or -1 when out of memory.
static int table_grow (cli_table_t *table)
{
    if (table->count < table->cap)
        return 0;
    size_t cap = table->cap ? table->cap * 2 : 16;
    char ***rows = realloc (table->rows, cap * sizeof *rows);
    if (!rows)
        return -1;
    table->rows = rows;
    table->cap = cap;
    return 0;
}

int cli_table_add (cli_table_t *table, const char *const *cells)
{
    char **row = calloc (table->columns + 1, sizeof *row);
    for (size_t c = 0; row && c < table->columns; c++)
        if (!(row[c] = strdup (cells[c] ? cells[c] : "-"))) {
            row_free (row);
            row = NULL;
        }
    if (!row || table_grow (table)) {
        row_free (row);
        return -1;
    }
    table->rows[table->count++] = row;
    return 0;
}

const char *cli_table_cell (const cli_table_t *table, size_t row, size_t column)
{
    return table->rows[row][column];
}

//  qsort comparator of rows: cell by cell, up to the NULL that ends them.
static int row_compare (const void *a, const void *b)
{
    char *const *x = *(char **const *)a, *const *y = *(char **const *)b;
    for (size_t c = 0; x[c] && y[c]; c++) {
        int order = strcmp (x[c], y[c]);
        if (order)
            return order;
    }
    return 0;
}

void cli_table_sort (cli_table_t *table)
{
    if (table->count > 1)
        qsort (table->rows, table->count, sizeof *table->rows, row_compare);
}

//  Prints one line of CELLS (COUNT of them) padded to WIDTH to OUT.
static void line_print (FILE *out, const char *const *cells, const int *width, size_t count)
{
    for (size_t i = 0; i < count; i++)
        fprintf (out, "%-*s%s", i + 1 < count ? width[i] : 0, cells[i],
                 i + 1 < count ? "  " : "\n");
}

void cli_table_print (const cli_table_t *table, FILE *out, const char *const *header,
                      const size_t *pick, size_t count)
{
    int *width = calloc (count ? count : 1, sizeof *width);
    const char **cells = calloc (count ? count : 1, sizeof *cells);
    if (!width || !cells) {
        free (width);
        free (cells);
        return;
    }
    for (size_t i = 0; i < count; i++) {
        width[i] = (int)strlen (header[i]);
        for (size_t r = 0; r < table->count; r++) {
            int w = (int)strlen (table->rows[r][pick[i]]);
            width[i] = w > width[i] ? w : width[i];
        }
    }
    line_print (out, header, width, count);
    for (size_t r = 0; r < table->count; r++) {
        for (size_t i = 0; i < count; i++)
            cells[i] = table->rows[r][pick[i]];
        line_print (out, cells, width, count);
    }
    free (width);
    free (cells);
}

void cli_table_free (cli_table_t *table)
{
    if (!table)
        return;
    for (size_t r = 0; r < table->count; r++)
        row_free (table->rows[r]);
    free (table->rows);
    cli_table_init (table, table->columns);
}
