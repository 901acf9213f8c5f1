/* SPDX-License-Identifier: GPL-3.0-or-later */
/* protocol.h: milter protocol wire constants (command and reply codes, action and step
 * flags, macro stages, size limits), kept apart from any API as Sendmail's mfdef.h does. */
#pragma once

/* Protocol versions we speak; 6 is the newest there is (Sendmail 8.14+, Postfix 2.6+). */
#define MM_PROTOCOL_VERSION_MIN 2
#define MM_PROTOCOL_VERSION_MAX 6

/* Sizes. A packet is: uint32 length (network order, counts the code byte and the data),
 * one code byte, then the data. */
#define MM_PACKET_HEADER_SIZE 4
#define MM_CHUNK_SIZE 65535            /* body chunk, as libmilter and Postfix use */
#define MM_DATA_SIZE_DEFAULT 65535     /* largest data without SMFIP_MDS_* */
#define MM_DATA_SIZE_256K 262143       /* with MM_STEP_MDS_256K */
#define MM_DATA_SIZE_1M 1048575        /* with MM_STEP_MDS_1M */
#define MM_OPTION_LENGTH 12            /* version, actions, steps: three uint32 */

/* Commands: MTA to milter (SMFIC_*). */
#define MM_COMMAND_ABORT 'A'
#define MM_COMMAND_BODY 'B'
#define MM_COMMAND_CONNECT 'C'
#define MM_COMMAND_MACRO 'D'
#define MM_COMMAND_END_OF_MESSAGE 'E'
#define MM_COMMAND_HELO 'H'
#define MM_COMMAND_QUIT_NEW_CONNECTION 'K'
#define MM_COMMAND_HEADER 'L'
#define MM_COMMAND_MAIL 'M'
#define MM_COMMAND_END_OF_HEADER 'N'
#define MM_COMMAND_NEGOTIATE 'O'
#define MM_COMMAND_QUIT 'Q'
#define MM_COMMAND_RCPT 'R'
#define MM_COMMAND_DATA 'T'
#define MM_COMMAND_UNKNOWN 'U'

/* Replies: milter to MTA (SMFIR_*). */
#define MM_REPLY_ADD_RCPT '+'
#define MM_REPLY_DELETE_RCPT '-'
#define MM_REPLY_ADD_RCPT_WITH_ARGS '2'
#define MM_REPLY_SHUTDOWN '4'
#define MM_REPLY_ACCEPT 'a'
#define MM_REPLY_REPLACE_BODY 'b'
#define MM_REPLY_CONTINUE 'c'
#define MM_REPLY_DISCARD 'd'
#define MM_REPLY_CHANGE_FROM 'e'
#define MM_REPLY_CONNECTION_FAIL 'f'
#define MM_REPLY_ADD_HEADER 'h'
#define MM_REPLY_INSERT_HEADER 'i'
#define MM_REPLY_SET_SYMLIST 'l'
#define MM_REPLY_CHANGE_HEADER 'm'
#define MM_REPLY_NEGOTIATE 'O'
#define MM_REPLY_PROGRESS 'p'
#define MM_REPLY_QUARANTINE 'q'
#define MM_REPLY_REJECT 'r'
#define MM_REPLY_SKIP 's'
#define MM_REPLY_TEMPORARY_FAILURE 't'
#define MM_REPLY_REPLY_CODE 'y'

/* Connect address families. */
#define MM_FAMILY_UNKNOWN 'U'
#define MM_FAMILY_UNIX 'L'
#define MM_FAMILY_INET '4'
#define MM_FAMILY_INET6 '6'

/* Actions a milter may take (SMFIF_*). */
#define MM_ACTION_ADD_HEADERS 0x001u
#define MM_ACTION_CHANGE_BODY 0x002u
#define MM_ACTION_ADD_RCPT 0x004u
#define MM_ACTION_DELETE_RCPT 0x008u
#define MM_ACTION_CHANGE_HEADERS 0x010u
#define MM_ACTION_QUARANTINE 0x020u
#define MM_ACTION_CHANGE_FROM 0x040u
#define MM_ACTION_ADD_RCPT_WITH_ARGS 0x080u
#define MM_ACTION_SET_SYMLIST 0x100u
#define MM_ACTION_ALL 0x1ffu

/* Protocol steps (SMFIP_*): events the milter does not want (NO_*), events it will
 * not reply to (NR_*), and extensions. */
#define MM_STEP_NO_CONNECT 0x00000001u
#define MM_STEP_NO_HELO 0x00000002u
#define MM_STEP_NO_MAIL 0x00000004u
#define MM_STEP_NO_RCPT 0x00000008u
#define MM_STEP_NO_BODY 0x00000010u
#define MM_STEP_NO_HEADERS 0x00000020u
#define MM_STEP_NO_END_OF_HEADER 0x00000040u
#define MM_STEP_NR_HEADER 0x00000080u
#define MM_STEP_NO_UNKNOWN 0x00000100u
#define MM_STEP_NO_DATA 0x00000200u
#define MM_STEP_SKIP 0x00000400u
#define MM_STEP_RCPT_REJECTED 0x00000800u
#define MM_STEP_NR_CONNECT 0x00001000u
#define MM_STEP_NR_HELO 0x00002000u
#define MM_STEP_NR_MAIL 0x00004000u
#define MM_STEP_NR_RCPT 0x00008000u
#define MM_STEP_NR_DATA 0x00010000u
#define MM_STEP_NR_UNKNOWN 0x00020000u
#define MM_STEP_NR_END_OF_HEADER 0x00040000u
#define MM_STEP_NR_BODY 0x00080000u
#define MM_STEP_HEADER_LEADING_SPACE 0x00100000u
#define MM_STEP_MDS_256K 0x10000000u
#define MM_STEP_MDS_1M 0x20000000u

#define MM_STEP_NO_EVENT_MASK                                                          \
  (MM_STEP_NO_CONNECT | MM_STEP_NO_HELO | MM_STEP_NO_MAIL | MM_STEP_NO_RCPT |          \
   MM_STEP_NO_BODY | MM_STEP_NO_HEADERS | MM_STEP_NO_END_OF_HEADER | MM_STEP_NO_UNKNOWN | \
   MM_STEP_NO_DATA)
#define MM_STEP_NO_REPLY_MASK                                                        \
  (MM_STEP_NR_HEADER | MM_STEP_NR_CONNECT | MM_STEP_NR_HELO | MM_STEP_NR_MAIL |      \
   MM_STEP_NR_RCPT | MM_STEP_NR_DATA | MM_STEP_NR_UNKNOWN | MM_STEP_NR_END_OF_HEADER | \
   MM_STEP_NR_BODY)
#define MM_STEP_EXTENSION_MASK \
  (MM_STEP_SKIP | MM_STEP_RCPT_REJECTED | MM_STEP_HEADER_LEADING_SPACE)
#define MM_STEP_DATA_SIZE_MASK (MM_STEP_MDS_256K | MM_STEP_MDS_1M)
#define MM_STEP_ALL \
  (MM_STEP_NO_EVENT_MASK | MM_STEP_NO_REPLY_MASK | MM_STEP_EXTENSION_MASK | MM_STEP_DATA_SIZE_MASK)

/* Macro stages, as numbered in the negotiate reply's macro request lists (SMFIM_*). */
typedef enum {
  MM_MACRO_STAGE_CONNECT = 0,
  MM_MACRO_STAGE_HELO = 1,
  MM_MACRO_STAGE_MAIL = 2,
  MM_MACRO_STAGE_RCPT = 3,
  MM_MACRO_STAGE_DATA = 4,
  MM_MACRO_STAGE_END_OF_MESSAGE = 5,
  MM_MACRO_STAGE_END_OF_HEADER = 6,
  MM_MACRO_STAGE_COUNT = 7
} MmMacroStage;
