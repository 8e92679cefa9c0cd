"""packer/archive/tar"""
