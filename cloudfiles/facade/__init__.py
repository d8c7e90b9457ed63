"""The parts :class:`cloudfiles.CloudFiles` is composed of, one family of operations per module.

host (the state and plumbing the mixins use), reading (get, get_into, get_json, exists, head, size,
subtree_size, get_acl), writing (puts, put, put_json(s), delete, touch), listing (list, transfers,
moves), naming (protocol, sep, join, dirname, basename, abspath, lock files), and compat (the other
public names cloud-files 6.4.3's ``cloudfiles.cloudfiles`` module had). Import CloudFiles from
:mod:`cloudfiles` or :mod:`cloudfiles.cloudfiles`, not from here.
"""
