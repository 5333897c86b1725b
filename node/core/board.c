/*  node/core/board.c - see board.h. */
#include "node/core/board.h"

#include <czmq.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>

#include "weft.h"

#define NO_RESULT INT_MIN //  a blocking send whose result has not come yet

struct board {
    pthread_mutex_t lock; //  guards everything below
    pthread_cond_t cond;  //  broadcast when a result comes or the window frees
    int window;           //  places in the send window
    int in_flight;        //  places taken
    zhashx_t *results;    //  token (decimal) -> int result, for blocking sends
    int journal;          //  0, or the code of the last failed commit
};

board_t *board_new (int window)
{
    board_t *self = calloc (1, sizeof *self);
    if (!self || !(self->results = zhashx_new ())) {
        free (self);
        return NULL;
    }
    zhashx_set_destructor (self->results, (zhashx_destructor_fn *)zstr_free);
    pthread_mutex_init (&self->lock, NULL);
    pthread_cond_init (&self->cond, NULL);
    self->window = window > 0 ? window : 1;
    return self;
}

void board_destroy (board_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    board_t *self = *self_p;
    zhashx_destroy (&self->results);
    pthread_mutex_destroy (&self->lock);
    pthread_cond_destroy (&self->cond);
    free (self);
    *self_p = NULL;
}

int board_enter (board_t *self, const struct timespec *deadline)
{
    int rc = 0;
    pthread_mutex_lock (&self->lock);
    while (self->in_flight >= self->window) {
        if (!deadline || pthread_cond_timedwait (&self->cond, &self->lock, deadline) == ETIMEDOUT) {
            rc = WEFT_EAGAIN;
            break;
        }
    }
    if (rc == 0)
        self->in_flight++;
    pthread_mutex_unlock (&self->lock);
    return rc;
}

void board_release (board_t *self)
{
    pthread_mutex_lock (&self->lock);
    if (self->in_flight > 0)
        self->in_flight--;
    pthread_cond_broadcast (&self->cond); //  the window has room again
    pthread_mutex_unlock (&self->lock);
}

int board_in_flight (board_t *self)
{
    pthread_mutex_lock (&self->lock);
    int n = self->in_flight;
    pthread_mutex_unlock (&self->lock);
    return n;
}

//  The table key of TOKEN, in KEY (24 bytes).
static void token_key (uint64_t token, char *key)
{
    snprintf (key, 24, "%" PRIu64, token);
}

int board_expect (board_t *self, uint64_t token)
{
    char key[24];
    token_key (token, key);
    int *slot = malloc (sizeof *slot);
    if (!slot)
        return WEFT_ENOMEM;
    *slot = NO_RESULT;
    pthread_mutex_lock (&self->lock);
    zhashx_update (self->results, key, slot);
    pthread_mutex_unlock (&self->lock);
    return 0;
}

int board_wait (board_t *self, uint64_t token, const struct timespec *deadline)
{
    char key[24];
    token_key (token, key);
    int rc = WEFT_ETIMEDOUT;
    pthread_mutex_lock (&self->lock);
    int *slot = zhashx_lookup (self->results, key);
    while (slot && *slot == NO_RESULT)
        if (pthread_cond_timedwait (&self->cond, &self->lock, deadline) == ETIMEDOUT)
            break;
    if (slot && *slot != NO_RESULT)
        rc = *slot;
    zhashx_delete (self->results, key); //  frees the slot
    pthread_mutex_unlock (&self->lock);
    return rc;
}

void board_forget (board_t *self, uint64_t token)
{
    char key[24];
    token_key (token, key);
    pthread_mutex_lock (&self->lock);
    zhashx_delete (self->results, key);
    pthread_mutex_unlock (&self->lock);
}

void board_confirm (board_t *self, uint64_t token, int result)
{
    char key[24];
    token_key (token, key);
    pthread_mutex_lock (&self->lock);
    int *slot = zhashx_lookup (self->results, key);
    if (slot)
        *slot = result == NO_RESULT ? WEFT_EIO : result;
    pthread_cond_broadcast (&self->cond);
    pthread_mutex_unlock (&self->lock);
}

void board_set_journal (board_t *self, int err)
{
    __atomic_store_n (&self->journal, err, __ATOMIC_RELEASE);
}

int board_journal (board_t *self)
{
    return __atomic_load_n (&self->journal, __ATOMIC_ACQUIRE);
}
