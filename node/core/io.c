/*  node/core/io.c - what every subsystem uses to reach the world and the
    application: clocks, frames, links, sends, publishes and events. See
    node.h for each function's contract. */
#include "node/core/node.h"

int64_t node_now (node_t *self)
{
    return world_now (self->world);
}

int64_t node_wall_us (node_t *self)
{
    return world_wall_us (self->world);
}

zmq_msg_t *node_frame_dup (zmq_msg_t *frame)
{
    zmq_msg_t *copy = malloc (sizeof *copy);
    if (copy && world_frame_copy (copy, zmq_msg_data (frame), zmq_msg_size (frame)) != 0) {
        zmq_msg_close (copy);
        free (copy);
        copy = NULL;
    }
    return copy;
}

void node_frame_free (zmq_msg_t **frame_p)
{
    if (!frame_p || !*frame_p)
        return;
    zmq_msg_close (*frame_p);
    free (*frame_p);
    *frame_p = NULL;
}

char *node_frame_strdup (zmq_msg_t *frame)
{
    size_t len = zmq_msg_size (frame);
    char *text = malloc (len + 1);
    if (text) {
        memcpy (text, zmq_msg_data (frame), len);
        text[len] = 0;
    }
    return text;
}

void node_list_remove (zlistx_t *list, void *item)
{
    for (void *it = zlistx_first (list); it; it = zlistx_next (list))
        if (it == item) {
            zlistx_delete (list, zlistx_cursor (list));
            return;
        }
}

zlistx_t *node_list_snapshot (zlistx_t *list)
{
    zlistx_t *copy = zlistx_new ();
    for (void *it = copy ? zlistx_first (list) : NULL; it; it = zlistx_next (list))
        zlistx_add_end (copy, it);
    return copy;
}

void node_emit (node_t *self, const node_event_t *ev, zmq_msg_t *topic, zmq_msg_t *body,
                zmq_msg_t *headers)
{
    void *sock = zsock_resolve (self->events);
    zmq_msg_t *parts[3] = {topic, body, headers};
    int last = 0;
    for (int i = 0; i < 3; i++)
        if (parts[i])
            last = i + 1;
    int rc = zmq_send (sock, ev, sizeof *ev, ZMQ_DONTWAIT | (last ? ZMQ_SNDMORE : 0));
    if (rc < 0)
        self->counters.app_drops++;
    //  frames keep their position (topic, body, headers): a missing one before
    //  the last present one goes as an empty frame
    for (int i = 0; i < last; i++) {
        if (rc < 0) {
            if (parts[i])
                zmq_msg_close (parts[i]);
            continue;
        }
        //  a PAIR accepts the rest of a message once it took the first frame
        int more = i + 1 < last ? ZMQ_SNDMORE : 0;
        if (parts[i])
            zmq_msg_send (parts[i], sock, more);
        else
            zmq_send (sock, "", 0, more);
    }
}

void node_emit_peer (node_t *self, int kind, const peer_t *peer)
{
    node_event_t ev = {.kind = kind};
    snprintf (ev.sender, sizeof ev.sender, "%s", peer->uuid_hex);
    snprintf (ev.sender_name, sizeof ev.sender_name, "%s", peer->name);
    node_emit (self, &ev, NULL, NULL, NULL);
}

int node_send (node_t *self, world_link_t *link, const void *body, size_t len)
{
    zmq_msg_t frames[2];
    size_t count = body ? 2 : 1;
    if (!link)
        return -1;
    world_frame_copy (&frames[0], self->sbuf.data, self->sbuf.size);
    if (body)
        world_frame_copy (&frames[1], body, len);
    return self->world->ops->link_send (self->world, link, frames, count);
}

int node_send_frames (node_t *self, world_link_t *link, zmq_msg_t *frames, size_t count)
{
    if (!link) {
        world_frames_close (frames, count);
        return -1;
    }
    return self->world->ops->link_send (self->world, link, frames, count);
}

int node_publish (node_t *self, zmq_msg_t *frames, size_t count)
{
    return self->world->ops->publish (self->world, frames, count);
}

int node_publish_head (node_t *self, const char *topic, uint64_t seq, uint32_t flags)
{
    wire_msg_t msg = {.seq = seq, .flags = flags};
    memcpy (msg.sender, self->uuid, WIRE_UUID_SIZE);
    if (wire_encode_msg (&self->sbuf, &msg))
        return -1;
    zmq_msg_t frames[3];
    world_frame_copy (&frames[0], topic, strlen (topic));
    world_frame_copy (&frames[1], self->sbuf.data, self->sbuf.size);
    zmq_msg_init (&frames[2]);
    return node_publish (self, frames, 3);
}

world_link_t *node_link_open (node_t *self, const char *endpoint, char tag)
{
    uint8_t id[WIRE_UUID_SIZE + 1];
    memcpy (id, self->uuid, WIRE_UUID_SIZE);
    id[WIRE_UUID_SIZE] = (uint8_t)tag;
    world_opts_t opts = {
        .sndhwm = 10000, .reconnect_ivl_ms = 100, .reconnect_max_ms = (int)self->interval};
    world_link_t *link = self->world->ops->link_open (self->world, endpoint, id,
                                                      tag ? sizeof id : WIRE_UUID_SIZE, &opts);
    if (!link)
        wlog_warn (&self->log, "cannot connect to %s", endpoint);
    return link;
}

void node_link_close (node_t *self, world_link_t **link_p, int linger_ms)
{
    self->world->ops->link_close (self->world, link_p, linger_ms);
}

void node_probe (node_t *self, node_fact_t fact, const char *a, const char *b, uint64_t n)
{
    if (self->probe)
        self->probe (self->probe_arg, self, fact, a, b, n);
}
