"""packer/archive"""
