/*  cli/table.h - rows of text cells printed as a table with aligned columns,
    for the weft commands that gather rows from several nodes first (journal,
    ring, queues). A table owns copies of its cells.
    Thread: a table belongs to one thread.
*/
#ifndef WEFT_CLI_TABLE_H
#define WEFT_CLI_TABLE_H

#include <stddef.h>
#include <stdio.h>

//  A table: rows of COLUMNS malloc'ed cells (each row ends with a NULL).
typedef struct {
    size_t columns; //  cells per row
    char ***rows;   //  the rows, owned
    size_t count;   //  used rows
    size_t cap;     //  allocated rows
} cli_table_t;

//  Makes TABLE an empty table of COLUMNS columns.
void cli_table_init (cli_table_t *table, size_t columns);

//  Appends a row of copies of CELLS (COLUMNS strings; a NULL one is stored
//  as "-"). Returns 0, or -1 when out of memory (nothing added).
int cli_table_add (cli_table_t *table, const char *const *cells);

//  Returns cell COLUMN of row ROW (borrowed, valid until the table changes).
const char *cli_table_cell (const cli_table_t *table, size_t row, size_t column);

//  Sorts the rows by their cells, first column first (strcmp order).
void cli_table_sort (cli_table_t *table);

//  Prints HEADER and the rows to OUT, two spaces between columns, each
//  column as wide as its widest cell. PICK lists the COUNT columns to
//  print, in order; HEADER names them.
void cli_table_print (const cli_table_t *table, FILE *out, const char *const *header,
                      const size_t *pick, size_t count);

//  Frees the rows of TABLE and empties it. NULL-safe.
void cli_table_free (cli_table_t *table);

#endif
