/* framecodec: what frame.c and framectl.c share, inside proto/ only: one
 * frame type's codec (reader, writer, size, validator) and the helpers for
 * the fields several frame types carry (names, address lists). */
#ifndef WH_FRAMECODEC_H
#define WH_FRAMECODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/frame.h"
#include "proto/wire.h"

typedef void frame_read_fn(struct wire_reader *r, struct frame *f);
typedef void frame_write_fn(struct wire_writer *w, const struct frame *f);
typedef size_t frame_size_fn(const struct frame *f);
typedef int frame_validate_fn(const struct frame *f);

struct frame_ops {
	frame_read_fn *read;
	frame_write_fn *write;
	frame_size_fn *size;
	frame_validate_fn *validate;
};

/* An optional name may be empty; a required one may not. */
bool framecodec_name_ok(const struct frame_name *n, bool optional);
/* name: len u8 | bytes (at most WIRE_NAME_MAX; more sets r->err). */
void framecodec_read_name(struct wire_reader *r, struct frame_name *n);
void framecodec_write_name(struct wire_writer *w, const struct frame_name *n);
/* Address bytes of a FRAME_ADDR_* family. */
size_t framecodec_addr_ip_len(uint8_t family);
/* addrs: count u8 | count x (family u8 | ip | port u16), count at most
 * WIRE_ADDR_MAX. */
void framecodec_read_addrs(struct wire_reader *r, struct frame_addr *a, uint8_t *count);
void framecodec_write_addrs(struct wire_writer *w, const struct frame_addr *a, uint8_t count);
size_t framecodec_addrs_size(const struct frame_addr *a, uint8_t count);
bool framecodec_addrs_ok(const struct frame_addr *a, uint8_t count);

/* framectl.c */
extern const struct frame_ops framectl_route_ops;
extern const struct frame_ops framectl_join_ops;
extern const struct frame_ops framectl_register_ops;
extern const struct frame_ops framectl_peer_ops;
extern const struct frame_ops framectl_sync_ops;
extern const struct frame_ops framectl_relay_bind_ops;
extern const struct frame_ops framectl_flow_opts_ops;
extern const struct frame_ops framectl_flow_join_ops;
extern const struct frame_ops framectl_flow_join_ack_ops;
extern const struct frame_ops framectl_in_use_ops;
extern const struct frame_ops framectl_leave_ops;

#endif
