"""packer/archive/zip"""
