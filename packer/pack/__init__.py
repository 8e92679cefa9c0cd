"""packer/pack"""
