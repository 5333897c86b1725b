/*  node/core/world.c - the two frame helpers of world.h, shared by every
    world (real and simulated). Plain zmq_msg_t work: no socket needed. */
#include <string.h>

#include "node/core/world.h"

//  Builds FRAME as a copy of LEN bytes at DATA; on failure FRAME is empty.
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

//  Closes COUNT frames (each must have been initialized).
void world_frames_close (zmq_msg_t *frames, size_t count)
{
    for (size_t i = 0; i < count; i++)
        zmq_msg_close (&frames[i]);
}
