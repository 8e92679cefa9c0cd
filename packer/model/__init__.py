"""packer/model"""
