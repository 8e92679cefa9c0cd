"""packer/target"""
