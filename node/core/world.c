/*  node/core/world.c - helpers shared by every world (see world.h). */
#include "node/core/world.h"

#include <string.h>

int world_frame_copy (zmq_msg_t *frame, const void *data, size_t len)
{
    if (zmq_msg_init_size (frame, len) != 0) {
        zmq_msg_init (frame);
        return -1;
    }
    if (len)
        memcpy (zmq_msg_data (frame), data, len);
    return 0;
}

void world_frames_close (zmq_msg_t *frames, size_t count)
{
    for (size_t i = 0; i < count; i++)
        zmq_msg_close (&frames[i]);
}
