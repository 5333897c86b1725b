/*  tests/unit/test_ring.c - queue ownership by weighted rendezvous hashing
    (node/ring.h).

    Member UUIDs are derived from hash64 of "set-S-member-K", so they look
    like random UUIDs but every run uses the same ones. Queue names are
    "queue-<i>".

    Balance. Each queue goes to member k with probability w_k / sum (w), so
    the loads of 10 equal members over 100,000 queues are multinomial: each
    about 10,000 with a standard deviation of 95 (0.95 %), and max/min about
    1.03. Over 1,000 simulated member sets max/min averaged 1.031 and was
    1.062 at worst, and the chi-square of the loads averaged 8.9 (9 degrees
    of freedom, as for a perfect hash). So 1.25 holds with a wide margin for
    every set; the chi-square checks that the scores of different members
    are not correlated. (Points on a circle averaged 1.48 at 64 vnodes.)
*/
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "node/ring/ring.h"
#include "weft.h"

#define QUEUES   100000 //  queue names in the balance and movement tests
#define MEMBERS  10     //  members in the balance and movement tests
#define MAX_SETS 32     //  member sets a test may use

typedef char uuid_text_t[RING_UUID_LEN + 1]; //  a member UUID as text

//  Writes into UUID the 32 lowercase hex digits of member K of set SET.
static void make_uuid (int set, int k, char *uuid)
{
    char seed[64];
    snprintf (seed, sizeof seed, "set-%d-member-%d", set, k);
    uint64_t high = hash64_str (seed);
    snprintf (seed, sizeof seed, "set-%d-member-%d/2", set, k);
    uint64_t low = hash64_str (seed);
    snprintf (uuid, RING_UUID_LEN + 1, "%016llx%016llx", (unsigned long long)high,
              (unsigned long long)low);
}

//  Writes queue name I into NAME (32 bytes).
static const char *queue_name (size_t i, char *name)
{
    snprintf (name, 32, "queue-%zu", i);
    return name;
}

//  Creates a ring of VNODES with members 0..COUNT-1 of SET (weight 1), their
//  UUIDs stored in UUIDS.
static ring_t *make_ring (int vnodes, int set, int count, uuid_text_t *uuids)
{
    ring_t *ring = ring_new (vnodes);
    cr_assert_not_null (ring);
    for (int k = 0; k < count; k++) {
        make_uuid (set, k, uuids[k]);
        cr_assert_eq (ring_add (ring, uuids[k], "m", 1), 0);
    }
    return ring;
}

//  Index in UUIDS (COUNT entries) of OWNER; fails the test if absent.
static int member_index (const char *owner, uuid_text_t *uuids, int count)
{
    cr_assert_not_null (owner);
    for (int k = 0; k < count; k++)
        if (strcmp (owner, uuids[k]) == 0)
            return k;
    cr_assert_fail ("owner %s is not a member", owner);
    return -1;
}

//  Counts into LOAD (COUNT entries, zeroed here) the queues each member owns.
static void count_loads (ring_t *ring, uuid_text_t *uuids, int count, size_t *load)
{
    char name[32];
    memset (load, 0, (size_t)count * sizeof *load);
    for (size_t i = 0; i < QUEUES; i++)
        load[member_index (ring_owner (ring, queue_name (i, name)), uuids, count)]++;
}

//  Max/min of LOAD (COUNT entries).
static double load_ratio (const size_t *load, int count)
{
    size_t max = load[0], min = load[0];
    for (int k = 1; k < count; k++) {
        max = load[k] > max ? load[k] : max;
        min = load[k] < min ? load[k] : min;
    }
    cr_assert_gt (min, 0);
    return (double)max / (double)min;
}

//  Chi-square of LOAD (COUNT entries, summing to QUEUES) against equal shares.
static double load_chi2 (const size_t *load, int count)
{
    double expected = (double)QUEUES / count, chi2 = 0;
    for (int k = 0; k < count; k++)
        chi2 += ((double)load[k] - expected) * ((double)load[k] - expected) / expected;
    return chi2;
}

//  Loads of the 10 members of SET at VNODES: stores max/min in *RATIO and
//  the chi-square in *CHI2.
static void set_balance (int vnodes, int set, double *ratio, double *chi2)
{
    uuid_text_t uuids[MEMBERS];
    size_t load[MEMBERS];
    ring_t *ring = make_ring (vnodes, set, MEMBERS, uuids);
    count_loads (ring, uuids, MEMBERS, load);
    ring_destroy (&ring);
    *ratio = load_ratio (load, MEMBERS);
    *chi2 = load_chi2 (load, MEMBERS);
}

Test (ring, distribution_64_vnodes, .timeout = 120)
{
    //  Every one of 20 sets must be within 1.25 (expected about 1.03). The
    //  mean chi-square over the sets is 9 for independent scores, with a
    //  standard deviation of 0.95: 13 is some 4 of them.
    const int sets = 20;
    double sum = 0, worst = 0, chi2_sum = 0;
    int over = 0;
    for (int set = 0; set < sets; set++) {
        double ratio, chi2;
        set_balance (RING_VNODES_DEFAULT, set, &ratio, &chi2);
        cr_log_info ("64 vnodes, set %d: max/min %.4f, chi-square %.2f", set, ratio, chi2);
        cr_expect_leq (ratio, 1.25, "set %d: max/min %.4f", set, ratio);
        over += ratio > 1.25;
        sum += ratio;
        worst = ratio > worst ? ratio : worst;
        chi2_sum += chi2;
    }
    cr_log_info ("64 vnodes: max/min %.4f on average over %d sets, %.4f at worst; mean "
                 "chi-square %.2f",
                 sum / sets, sets, worst, chi2_sum / sets);
    cr_assert_eq (over, 0, "%d of %d sets over 1.25", over, sets);
    cr_assert_leq (chi2_sum / sets, 13.0, "mean chi-square %.2f (9 expected)", chi2_sum / sets);
}

Test (ring, distribution_at_any_vnodes, .timeout = 60)
{
    const int counts[] = {1, 8, RING_VNODES_MAX};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        double ratio, chi2;
        set_balance (counts[i], 21, &ratio, &chi2);
        cr_log_info ("%d vnodes: max/min %.4f, chi-square %.2f", counts[i], ratio, chi2);
        cr_assert_leq (ratio, 1.25, "%d vnodes: max/min %.4f", counts[i], ratio);
    }
}

Test (ring, owners_do_not_depend_on_vnodes, .timeout = 30)
{
    uuid_text_t uuids[MEMBERS];
    ring_t *one = make_ring (1, 22, MEMBERS, uuids);
    ring_t *many = make_ring (RING_VNODES_MAX, 22, MEMBERS, uuids);
    cr_assert_neq (ring_epoch (one), ring_epoch (many), "vnodes still count in the epoch");
    char name[32];
    for (size_t i = 0; i < 10000; i++)
        cr_assert_str_eq (ring_owner (one, queue_name (i, name)), ring_owner (many, name), "%s",
                          name);
    ring_destroy (&one);
    ring_destroy (&many);
}

//  Stores into OWNERS[i] the index in UUIDS (COUNT entries) of the owner of
//  queue i, for the QUEUES names.
static void owners_of (ring_t *ring, uuid_text_t *uuids, int count, int *owners)
{
    char name[32];
    for (size_t i = 0; i < QUEUES; i++)
        owners[i] = member_index (ring_owner (ring, queue_name (i, name)), uuids, count);
}

//  Checks that a join to the 10 members of SET moves only queues that the
//  newcomer takes, about 1/11 of them and at most 1/11 + 5 %. Returns how
//  many moved.
static size_t check_join (int set)
{
    uuid_text_t uuids[MEMBERS + 1];
    ring_t *ring = make_ring (RING_VNODES_DEFAULT, set, MEMBERS + 1, uuids);
    cr_assert_eq (ring_remove (ring, uuids[MEMBERS]), 0); //  the joiner, for now
    int *before = calloc (QUEUES, sizeof *before);
    int *after = calloc (QUEUES, sizeof *after);
    cr_assert (before && after);
    owners_of (ring, uuids, MEMBERS + 1, before);
    cr_assert_eq (ring_add (ring, uuids[MEMBERS], "joiner", 1), 0);
    owners_of (ring, uuids, MEMBERS + 1, after);
    size_t moved = 0;
    for (size_t i = 0; i < QUEUES; i++) {
        if (before[i] != after[i]) {
            cr_assert_eq (after[i], MEMBERS, "set %d: queue-%zu moved between old members", set, i);
            moved++;
        }
    }
    size_t limit = QUEUES / (MEMBERS + 1) + QUEUES / 20;
    cr_log_info ("set %d, join 10 -> 11: %zu of %d queues moved, all to the newcomer (limit "
                 "%zu, 1/11 is %d)",
                 set, moved, QUEUES, limit, QUEUES / (MEMBERS + 1));
    cr_assert_leq (moved, limit, "set %d", set);
    //  The newcomer's fair share: 9,091 with a standard deviation of 91.
    cr_assert_geq (moved, QUEUES / (MEMBERS + 1) - QUEUES / 20, "set %d", set);
    free (before);
    free (after);
    ring_destroy (&ring);
    return moved;
}

Test (ring, movement_on_join, .timeout = 120)
{
    for (int set = 0; set < 5; set++)
        check_join (set);
}

//  Checks that member LEAVER leaving the 10 members of SET moves only its
//  own queues, and spreads them over all the others.
static void check_leave (int set, int leaver)
{
    uuid_text_t uuids[MEMBERS];
    size_t heirs[MEMBERS] = {0};
    ring_t *ring = make_ring (RING_VNODES_DEFAULT, set, MEMBERS, uuids);
    int *before = calloc (QUEUES, sizeof *before);
    int *after = calloc (QUEUES, sizeof *after);
    cr_assert (before && after);
    owners_of (ring, uuids, MEMBERS, before);
    cr_assert_eq (ring_remove (ring, uuids[leaver]), 0);
    owners_of (ring, uuids, MEMBERS, after);
    size_t moved = 0;
    for (size_t i = 0; i < QUEUES; i++) {
        cr_assert_neq (after[i], leaver, "queue-%zu still owned by the leaver", i);
        if (before[i] != leaver)
            cr_assert_eq (after[i], before[i], "set %d: queue-%zu moved but its owner stayed", set,
                          i);
        else {
            moved++;
            heirs[after[i]]++;
        }
    }
    //  About 1,111 queues to each of the 9 others, standard deviation 31.
    size_t least = moved, most = 0;
    for (int k = 0; k < MEMBERS; k++) {
        if (k != leaver) {
            least = heirs[k] < least ? heirs[k] : least;
            most = heirs[k] > most ? heirs[k] : most;
        }
    }
    cr_log_info ("set %d, leave 10 -> 9: %zu of %d queues moved, all the leaver's, %zu to %zu "
                 "to each other member",
                 set, moved, QUEUES, least, most);
    cr_assert_gt (least, 0);
    cr_assert_leq ((double)most / (double)least, 1.5, "set %d: heirs %zu..%zu", set, least, most);
    free (before);
    free (after);
    ring_destroy (&ring);
}

Test (ring, movement_on_leave, .timeout = 120)
{
    for (int set = 0; set < 5; set++)
        check_leave (set, 3 + set);
}

//  Adds members 0..COUNT-1 of UUIDS to RING in the order ORDER gives, with weights
//  1 + k % 3 and the display name NAME.
static void add_in_order (ring_t *ring, uuid_text_t *uuids, const int *order, int count,
                          const char *name)
{
    for (int j = 0; j < count; j++)
        cr_assert_eq (ring_add (ring, uuids[order[j]], name, 1 + order[j] % 3), 0);
}

Test (ring, insertion_order_does_not_matter, .timeout = 60)
{
    uuid_text_t uuids[MEMBERS + 1];
    int forward[MEMBERS], backward[MEMBERS], shuffled[MEMBERS];
    for (int k = 0; k < MEMBERS + 1; k++)
        make_uuid (1, k, uuids[k]);
    for (int k = 0; k < MEMBERS; k++) {
        forward[k] = k;
        backward[k] = MEMBERS - 1 - k;
        shuffled[k] = (k * 7 + 3) % MEMBERS; //  7 is prime to 10: a permutation
    }
    ring_t *a = ring_new (RING_VNODES_DEFAULT);
    ring_t *b = ring_new (RING_VNODES_DEFAULT);
    ring_t *c = ring_new (RING_VNODES_DEFAULT);
    add_in_order (a, uuids, forward, MEMBERS, "a");
    //  b looks up in between, after each add; names differ
    for (int j = 0; j < MEMBERS; j++) {
        add_in_order (b, uuids, backward + j, 1, "b");
        cr_assert_not_null (ring_owner (b, "warm-up"));
    }
    //  c sees an extra member come and go, and a weight change undone
    cr_assert_eq (ring_add (c, uuids[MEMBERS], "extra", 2), 0);
    add_in_order (c, uuids, shuffled, MEMBERS, "c");
    cr_assert_eq (ring_add (c, uuids[0], "c", 3), 0);
    cr_assert_not_null (ring_owner (c, "warm-up"));
    cr_assert_eq (ring_remove (c, uuids[MEMBERS]), 0);
    cr_assert_eq (ring_add (c, uuids[0], "c", 1), 0);

    cr_assert_eq (ring_epoch (a), ring_epoch (b));
    cr_assert_eq (ring_epoch (a), ring_epoch (c));
    char name[32];
    for (size_t i = 0; i < 10000; i++) {
        const char *owner = ring_owner (a, queue_name (i, name));
        cr_assert_str_eq (owner, ring_owner (b, name), "%s", name);
        cr_assert_str_eq (owner, ring_owner (c, name), "%s", name);
    }
    ring_destroy (&a);
    ring_destroy (&b);
    ring_destroy (&c);
}

Test (ring, epoch_tracks_what_decides_ownership, .timeout = 10)
{
    uuid_text_t u, v;
    make_uuid (2, 0, u);
    make_uuid (2, 1, v);
    ring_t *ring = ring_new (RING_VNODES_DEFAULT);
    ring_t *other = ring_new (RING_VNODES_DEFAULT + 1);
    cr_assert_neq (ring_epoch (ring), ring_epoch (other), "vnodes count in the epoch");
    uint64_t empty = ring_epoch (ring);
    cr_assert_eq (ring_add (ring, u, "u", 1), 0);
    uint64_t one = ring_epoch (ring);
    cr_assert_neq (one, empty);
    cr_assert_eq (ring_add (ring, u, "renamed", 1), 0);
    cr_assert_eq (ring_epoch (ring), one, "names do not count");
    cr_assert_eq (ring_add (ring, u, "u", 2), 0);
    cr_assert_neq (ring_epoch (ring), one, "weights count");
    cr_assert_eq (ring_add (ring, u, "u", 1), 0);
    cr_assert_eq (ring_epoch (ring), one);
    cr_assert_eq (ring_add (ring, v, "v", 1), 0);
    cr_assert_neq (ring_epoch (ring), one);
    cr_assert_eq (ring_remove (ring, v), 0);
    cr_assert_eq (ring_epoch (ring), one);
    //  the same UUID in capitals is the same member
    char upper[RING_UUID_LEN + 1];
    for (int i = 0; i <= RING_UUID_LEN; i++)
        upper[i] = (char)(u[i] >= 'a' && u[i] <= 'f' ? u[i] - 'a' + 'A' : u[i]);
    cr_assert_eq (ring_add (other, upper, "u", 1), 0);
    ring_t *again = ring_new (RING_VNODES_DEFAULT);
    cr_assert_eq (ring_add (again, upper, "u", 1), 0);
    cr_assert_eq (ring_epoch (again), one);
    cr_assert_str_eq (ring_owner (again, "q"), u, "UUIDs come back in lowercase");
    ring_clear (ring);
    cr_assert_eq (ring_epoch (ring), empty);
    ring_destroy (&ring);
    ring_destroy (&other);
    ring_destroy (&again);
}

//  A member as the reference implementation sees it.
typedef struct {
    const char *uuid; //  lowercase
    int weight;       //  capacity weight
    double score;     //  for the queue at hand
} scored_t;

//  The score of ring.h, written out again from its formula.
static double reference_score (const char *queue, const char *uuid, int weight)
{
    uint64_t x = hash64_str (queue) ^ hash64 (uuid, RING_UUID_LEN);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    x ^= x >> 31;
    double u = (double)(2 * (x >> 12) + 1) / 9007199254740992.0; //  2^53
    return weight / -log (u);
}

//  Order of members for a queue: higher score first, then lower UUID.
static int scored_compare (const void *a, const void *b)
{
    const scored_t *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return strcmp (x->uuid, y->uuid);
}

Test (ring, owners_and_replicas_match_the_formula, .timeout = 60)
{
    enum { COUNT = 7, WEIGHT_MAX = 3, NAMES = 5000 };
    uuid_text_t uuids[COUNT];
    scored_t members[COUNT];
    ring_t *ring = ring_new (8);
    for (int k = 0; k < COUNT; k++) {
        make_uuid (3, k, uuids[k]);
        members[k] = (scored_t){uuids[k], 1 + k % WEIGHT_MAX, 0};
        cr_assert_eq (ring_add (ring, uuids[k], "m", members[k].weight), 0);
    }
    char name[32];
    for (size_t q = 0; q < NAMES; q++) {
        queue_name (q, name);
        for (int k = 0; k < COUNT; k++)
            members[k].score = reference_score (name, members[k].uuid, members[k].weight);
        qsort (members, COUNT, sizeof *members, scored_compare);
        cr_assert_str_eq (ring_owner (ring, name), members[0].uuid, "%s", name);
        const char *out[COUNT + 2];
        cr_assert_eq (ring_replicas (ring, name, COUNT + 2, out), (size_t)COUNT);
        for (size_t j = 0; j < COUNT; j++)
            cr_assert_str_eq (out[j], members[j].uuid, "%s replica %zu", name, j);
    }
    ring_destroy (&ring);
}

Test (ring, replicas, .timeout = 30)
{
    uuid_text_t uuids[MEMBERS];
    ring_t *ring = make_ring (RING_VNODES_DEFAULT, 4, MEMBERS, uuids);
    char name[32];
    for (size_t q = 0; q < 2000; q++) {
        const char *owner = ring_owner (ring, queue_name (q, name));
        for (size_t r = 1; r <= MEMBERS + 2; r++) {
            const char *out[MEMBERS + 2];
            size_t got = ring_replicas (ring, name, r, out);
            cr_assert_eq (got, r < MEMBERS ? r : MEMBERS);
            cr_assert_eq (out[0], owner, "owner first, as the same string");
            for (size_t i = 0; i < got; i++) {
                member_index (out[i], uuids, MEMBERS);
                for (size_t j = 0; j < i; j++)
                    cr_assert_neq (out[i], out[j], "%s: replica %zu repeats %zu", name, i, j);
            }
        }
    }
    ring_destroy (&ring);
}

Test (ring, weight_two_gets_twice_the_share, .timeout = 60)
{
    //  The heavy member expects 2/11 of the queues (standard deviation 0.67 %)
    //  and the mean of the 9 others 1/11 (0.35 %): 1.9..2.1 is some 6 of the
    //  ratio's standard deviations.
    uuid_text_t uuids[MEMBERS];
    size_t load[MEMBERS];
    ring_t *ring = make_ring (RING_VNODES_DEFAULT, 5, MEMBERS, uuids);
    cr_assert_eq (ring_add (ring, uuids[0], "heavy", 2), 0);
    count_loads (ring, uuids, MEMBERS, load);
    size_t others = 0;
    for (int k = 1; k < MEMBERS; k++)
        others += load[k];
    double ratio = (double)load[0] / ((double)others / (MEMBERS - 1));
    cr_log_info ("weight 2: %zu queues, %.3f times the mean of the weight-1 members", load[0],
                 ratio);
    cr_assert (ratio >= 1.9 && ratio <= 2.1, "weight-2 share is %.3f times the mean", ratio);
    ring_destroy (&ring);
}

Test (ring, shares_follow_weights, .timeout = 60)
{
    //  Weights 1..5 (sum 30): member k expects QUEUES * w / 30, binomial; each
    //  must be within 5 standard deviations.
    uuid_text_t uuids[MEMBERS];
    size_t load[MEMBERS];
    ring_t *ring = make_ring (RING_VNODES_DEFAULT, 6, MEMBERS, uuids);
    for (int k = 0; k < MEMBERS; k++)
        cr_assert_eq (ring_add (ring, uuids[k], "m", 1 + k % 5), 0);
    count_loads (ring, uuids, MEMBERS, load);
    for (int k = 0; k < MEMBERS; k++) {
        double p = (1 + k % 5) / 30.0, expected = QUEUES * p;
        double sd = sqrt (QUEUES * p * (1 - p));
        cr_log_info ("weight %d: %zu queues, %.0f expected", 1 + k % 5, load[k], expected);
        cr_assert_leq (fabs ((double)load[k] - expected), 5 * sd, "member %d (weight %d): %zu", k,
                       1 + k % 5, load[k]);
    }
    ring_destroy (&ring);
}

//  Stores into INDEXES the indexes in UUIDS (COUNT entries) of the R
//  replicas of QUEUE, all of them, in order.
static void replica_indexes (ring_t *ring, const char *queue, uuid_text_t *uuids, int count,
                             size_t r, int *indexes)
{
    const char *out[MEMBERS + 1];
    cr_assert_eq (ring_replicas (ring, queue, r, out), r);
    for (size_t i = 0; i < r; i++)
        indexes[i] = member_index (out[i], uuids, count);
}

Test (ring, replicas_survive_changes_in_order, .timeout = 60)
{
    //  Other members' scores do not change, so a leave deletes the leaver
    //  from every replica list (the first replica takes over as owner) and
    //  a join inserts the newcomer, the rest keeping their order.
    uuid_text_t uuids[MEMBERS + 1];
    ring_t *ring = make_ring (RING_VNODES_DEFAULT, 9, MEMBERS + 1, uuids);
    cr_assert_eq (ring_remove (ring, uuids[MEMBERS]), 0);
    char name[32];
    for (size_t q = 0; q < 500; q++) {
        queue_name (q, name);
        int full[MEMBERS], less[MEMBERS], more[MEMBERS + 1];
        replica_indexes (ring, name, uuids, MEMBERS + 1, MEMBERS, full);
        int leaver = full[q % 3]; //  the owner, replica 1 or replica 2
        cr_assert_eq (ring_remove (ring, uuids[leaver]), 0);
        replica_indexes (ring, name, uuids, MEMBERS + 1, MEMBERS - 1, less);
        for (size_t i = 0, j = 0; i < MEMBERS; i++)
            if (full[i] != leaver)
                cr_assert_eq (less[j++], full[i], "%s: order after a leave", name);
        cr_assert_eq (ring_add (ring, uuids[leaver], "m", 1), 0);
        cr_assert_eq (ring_add (ring, uuids[MEMBERS], "joiner", 1), 0);
        replica_indexes (ring, name, uuids, MEMBERS + 1, MEMBERS + 1, more);
        for (size_t i = 0, j = 0; i < MEMBERS + 1; i++)
            if (more[i] != MEMBERS)
                cr_assert_eq (more[i], full[j++], "%s: order after a join", name);
        cr_assert_eq (ring_remove (ring, uuids[MEMBERS]), 0);
        cr_assert_str_eq (ring_owner (ring, name), uuids[full[0]]);
    }
    ring_destroy (&ring);
}

Test (ring, members_listing, .timeout = 10)
{
    uuid_text_t uuids[4];
    ring_t *ring = make_ring (RING_VNODES_DEFAULT, 6, 4, uuids);
    cr_assert_eq (ring_add (ring, uuids[2], "two", 3), 0);
    cr_assert_eq (ring_add (ring, uuids[1], NULL, 1), 0);
    cr_assert_eq (ring_size (ring), 4);
    cr_assert_eq (ring_vnodes (ring), RING_VNODES_DEFAULT);
    const char *previous = "";
    size_t seen = 0;
    for (size_t i = 0; i < ring_size (ring); i++) {
        const char *uuid, *name;
        int weight;
        cr_assert_eq (ring_member (ring, i, &uuid, &name, &weight), 0);
        cr_assert_gt (strcmp (uuid, previous), 0, "ascending UUID order");
        previous = uuid;
        int k = member_index (uuid, uuids, 4);
        seen |= (size_t)1 << k;
        cr_assert_str_eq (name, k == 2 ? "two" : k == 1 ? "" : "m");
        cr_assert_eq (weight, k == 2 ? 3 : 1);
    }
    cr_assert_eq (seen, 15);
    cr_assert_eq (ring_member (ring, 4, NULL, NULL, NULL), WEFT_EINVAL);
    cr_assert_eq (ring_member (NULL, 0, NULL, NULL, NULL), WEFT_EINVAL);
    ring_destroy (&ring);
}

Test (ring, borrowed_uuids_survive_other_changes, .timeout = 10)
{
    uuid_text_t uuids[60];
    ring_t *ring = make_ring (4, 7, 1, uuids);
    const char *owner = ring_owner (ring, "q");
    cr_assert_str_eq (owner, uuids[0]);
    for (int k = 1; k < 60; k++) { //  grows the member and score arrays
        make_uuid (7, k, uuids[k]);
        cr_assert_eq (ring_add (ring, uuids[k], "m", 1 + k % 5), 0);
    }
    cr_assert_eq (ring_add (ring, uuids[0], "renamed", 7), 0);
    for (int k = 1; k < 60; k += 2)
        cr_assert_eq (ring_remove (ring, uuids[k]), 0);
    cr_assert_str_eq (owner, uuids[0]); //  ASan would flag a moved string
    ring_destroy (&ring);
}

Test (ring, empty_and_single, .timeout = 10)
{
    ring_t *ring = ring_new (RING_VNODES_DEFAULT);
    const char *out[3] = {"x", "x", "x"};
    cr_assert_eq (ring_size (ring), 0);
    cr_assert_null (ring_owner (ring, "q"));
    cr_assert_eq (ring_replicas (ring, "q", 3, out), 0);
    uuid_text_t u;
    make_uuid (8, 0, u);
    cr_assert_eq (ring_add (ring, u, "only", 1), 0);
    char name[32];
    for (size_t q = 0; q < 1000; q++)
        cr_assert_str_eq (ring_owner (ring, queue_name (q, name)), u);
    cr_assert_eq (ring_replicas (ring, "q", 3, out), 1);
    cr_assert_str_eq (out[0], u);
    cr_assert_eq (ring_replicas (ring, "q", 0, out), 0);
    cr_assert_eq (ring_replicas (ring, "q", 0, NULL), 0);
    ring_clear (ring);
    cr_assert_eq (ring_size (ring), 0);
    cr_assert_null (ring_owner (ring, "q"));
    cr_assert_eq (ring_replicas (ring, "q", 3, out), 0);
    cr_assert_eq (ring_add (ring, u, "back", 1), 0);
    cr_assert_str_eq (ring_owner (ring, "q"), u);
    ring_destroy (&ring);
    cr_assert_null (ring);
    ring_destroy (&ring);
    ring_destroy (NULL);
}

Test (ring, bad_arguments, .timeout = 10)
{
    cr_assert_null (ring_new (0));
    cr_assert_null (ring_new (-1));
    cr_assert_null (ring_new (RING_VNODES_MAX + 1));
    ring_t *ring = ring_new (RING_VNODES_MAX);
    cr_assert_not_null (ring);
    ring_destroy (&ring);

    ring = ring_new (RING_VNODES_DEFAULT);
    const char *good = "0123456789abcdefABCDEF0123456789";
    const char *bad[] = {"",
                         "0123456789abcdef0123456789abcde",   //  31 digits
                         "0123456789abcdef0123456789abcdef0", //  33 digits
                         "0123456789abcdef0123456789abcdeg",  //  not hex
                         "0123456789abcdef 123456789abcdef",  //  a space
                         "0x23456789abcdef0123456789abcdef"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq (ring_add (ring, bad[i], "m", 1), WEFT_EINVAL, "\"%s\" accepted", bad[i]);
        cr_assert_eq (ring_remove (ring, bad[i]), WEFT_ENOTFOUND);
    }
    char long_name[RING_NAME_MAX + 2];
    memset (long_name, 'n', sizeof long_name - 1);
    long_name[RING_NAME_MAX + 1] = '\0';
    cr_assert_eq (ring_add (NULL, good, "m", 1), WEFT_EINVAL);
    cr_assert_eq (ring_add (ring, NULL, "m", 1), WEFT_EINVAL);
    cr_assert_eq (ring_add (ring, good, "m", 0), WEFT_EINVAL);
    cr_assert_eq (ring_add (ring, good, "m", -1), WEFT_EINVAL);
    cr_assert_eq (ring_add (ring, good, "m", RING_WEIGHT_MAX + 1), WEFT_EINVAL);
    cr_assert_eq (ring_add (ring, good, long_name, 1), WEFT_EINVAL);
    cr_assert_eq (ring_size (ring), 0, "failed adds leave the ring unchanged");
    long_name[RING_NAME_MAX] = '\0';
    cr_assert_eq (ring_add (ring, good, long_name, RING_WEIGHT_MAX), 0);
    cr_assert_eq (ring_add (ring, good, "m", 0), WEFT_EINVAL);
    int weight;
    cr_assert_eq (ring_member (ring, 0, NULL, NULL, &weight), 0);
    cr_assert_eq (weight, RING_WEIGHT_MAX, "a failed re-add keeps the old weight");

    cr_assert_eq (ring_remove (NULL, good), WEFT_EINVAL);
    cr_assert_eq (ring_remove (ring, NULL), WEFT_EINVAL);
    cr_assert_eq (ring_remove (ring, "ffffffffffffffffffffffffffffffff"), WEFT_ENOTFOUND);
    cr_assert_eq (ring_remove (ring, good), 0);
    cr_assert_eq (ring_remove (ring, good), WEFT_ENOTFOUND);

    const char *out[2];
    cr_assert_null (ring_owner (NULL, "q"));
    cr_assert_null (ring_owner (ring, NULL));
    cr_assert_eq (ring_replicas (NULL, "q", 2, out), 0);
    cr_assert_eq (ring_replicas (ring, NULL, 2, out), 0);
    cr_assert_eq (ring_size (NULL), 0);
    cr_assert_eq (ring_epoch (NULL), 0);
    ring_clear (NULL);
    ring_destroy (&ring);
}
